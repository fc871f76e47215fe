using System.Collections.Concurrent;

namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>
/// The per-instance memory layer over <see cref="IMtaStsPolicyStore"/>: a delivery reads the table at most
/// once per domain every <see cref="MemoryLifetime"/>, so a burst of mail to one domain costs one read (the
/// messages that miss memory at the same moment share the read on its way).
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

    // The table reads on their way, by domain: the messages of a burst that all miss memory at once share one.
    private readonly ConcurrentDictionary<string, Task<CachedMtaStsPolicy?>> _reading = new(StringComparer.Ordinal);

    /// <summary>The cached entry, from memory when fresh, else from the table.</summary>
    /// <param name="domain">Policy domain.</param>
    /// <param name="fromTable">Skip memory (another instance may have fetched a newer policy).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<CachedMtaStsPolicy?> GetAsync(string domain, bool fromTable, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (fromTable)
        {
            // Not shared: a read that started before this call may predate what the caller knows of.
            var entry = await store.GetAsync(domain, cancellationToken).ConfigureAwait(false);
            Remember(domain, entry, now);
            return entry;
        }

        if (_memory.TryGetValue(domain, out var held) && now - held.ReadAt < MemoryLifetime)
        {
            return held.Entry;
        }

        return await SharedReadAsync(domain).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private Task<CachedMtaStsPolicy?> SharedReadAsync(string domain)
    {
        while (true)
        {
            if (_reading.TryGetValue(domain, out var running))
            {
                return running;
            }

            var read = new TaskCompletionSource<CachedMtaStsPolicy?>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_reading.TryAdd(domain, read.Task))
            {
                _ = ReadIntoAsync(domain, read);
                return read.Task;
            }
        }
    }

    // Not cancelled by any one caller: the others wait for it too (each caller's own wait is cancellable).
    private async Task ReadIntoAsync(string domain, TaskCompletionSource<CachedMtaStsPolicy?> read)
    {
        try
        {
            var now = time.GetUtcNow();
            var entry = await store.GetAsync(domain, CancellationToken.None).ConfigureAwait(false);
            Remember(domain, entry, now);
            read.SetResult(entry);
        }
        catch (Exception e)
        {
            read.SetException(e);
        }
        finally
        {
            _reading.TryRemove(KeyValuePair.Create(domain, read.Task));
        }
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
