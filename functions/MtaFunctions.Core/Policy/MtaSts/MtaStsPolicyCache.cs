using System.Collections.Concurrent;

namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>
/// The per-instance memory layer over <see cref="IMtaStsPolicyStore"/>: a delivery reads the table at most
/// once per domain every <see cref="MemoryLifetime"/>, so a burst of mail to one domain costs one read.
/// </summary>
/// <remarks>
/// Entries are re-read after <see cref="MemoryLifetime"/> so that a policy another instance fetched, or an
/// operator purge, is seen here within that time.
/// </remarks>
public sealed class MtaStsPolicyCache(IMtaStsPolicyStore store, TimeProvider time)
{
    /// <summary>How long a table read is trusted in memory.</summary>
    public static readonly TimeSpan MemoryLifetime = TimeSpan.FromMinutes(5);

    private const int MaxEntries = 100_000;
    private readonly ConcurrentDictionary<string, (CachedMtaStsPolicy? Entry, DateTimeOffset ReadAt)> _memory = new(StringComparer.Ordinal);

    /// <summary>The cached entry, from memory when fresh, else from the table.</summary>
    /// <param name="domain">Policy domain.</param>
    /// <param name="fromTable">Skip memory (another instance may have fetched a newer policy).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<CachedMtaStsPolicy?> GetAsync(string domain, bool fromTable, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (!fromTable && _memory.TryGetValue(domain, out var held) && now - held.ReadAt < MemoryLifetime)
        {
            return held.Entry;
        }

        var entry = await store.GetAsync(domain, cancellationToken).ConfigureAwait(false);
        Remember(domain, entry, now);
        return entry;
    }

    /// <summary>Writes an entry through to the table.</summary>
    public async Task SaveAsync(CachedMtaStsPolicy entry, CancellationToken cancellationToken)
    {
        await store.SaveAsync(entry, cancellationToken).ConfigureAwait(false);
        Remember(entry.Domain, entry, time.GetUtcNow());
    }

    /// <summary>Forgets a domain here and in the table (operator purge).</summary>
    public async Task<bool> PurgeAsync(string domain, CancellationToken cancellationToken)
    {
        _memory.TryRemove(domain, out _);
        return await store.DeleteAsync(domain, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every entry of the table.</summary>
    public IAsyncEnumerable<CachedMtaStsPolicy> ListAsync(CancellationToken cancellationToken) => store.ListAsync(cancellationToken);

    private void Remember(string domain, CachedMtaStsPolicy? entry, DateTimeOffset now)
    {
        if (_memory.Count >= MaxEntries)
        {
            _memory.Clear();
        }

        _memory[domain] = (entry, now);
    }
}
