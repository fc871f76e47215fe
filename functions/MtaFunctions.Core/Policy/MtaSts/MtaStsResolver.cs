using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>
/// Decides which MTA-STS policy applies to a domain now: TXT lookup, cache, HTTPS fetch (RFC 8461 §3, §5.1).
/// </summary>
/// <remarks>
/// Approach:
/// 1. The TXT record is looked up on every attempt: it is the cheap signal that the policy changed.
/// 2. A cached, unexpired policy with the same id is used without HTTPS.
/// 3. Otherwise the policy is fetched, unless a fetch for that id failed less than 5 minutes ago.
/// 4. A failed fetch, a missing TXT record or a DNS failure never drop a cached, unexpired policy: an
///    attacker who blocks the fetch must not downgrade us (RFC 8461 §5.1, §10.2).
/// </remarks>
public sealed class MtaStsResolver(
    MtaStsDiscovery discovery, MtaStsFetcher fetcher, MtaStsPolicyCache cache, TimeProvider time, ILogger<MtaStsResolver>? logger = null)
{
    /// <summary>RFC 8461 §3.3: wait at least this long before fetching the same policy id again after a failure.</summary>
    public static readonly TimeSpan FailedFetchBackOff = TimeSpan.FromMinutes(5);

    private readonly ILogger _logger = logger ?? NullLogger<MtaStsResolver>.Instance;
    private readonly ConcurrentDictionary<string, Lazy<Task<MtaStsResolution>>> _fetching = new(StringComparer.Ordinal);

    /// <summary>The policy that applies to <paramref name="domain"/> for this attempt.</summary>
    /// <param name="domain">Policy domain: the recipient domain, never a parent of it (RFC 8461 §3.4).</param>
    /// <param name="cancellationToken">Cancels lookups.</param>
    public async Task<MtaStsResolution> ResolveAsync(string domain, CancellationToken cancellationToken)
    {
        domain = Dns.DnsClientResolver.ToAscii(domain);
        var lookup = await discovery.LookupAsync(domain, cancellationToken).ConfigureAwait(false);
        var cached = await cache.GetAsync(domain, fromTable: false, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        if (lookup.Record is not { } record)
        {
            // RFC 8461 §3.1, §5.1: no (valid) TXT record is "no new policy", never a reason to drop a cached one.
            return cached is not null && cached.IsValidAt(now)
                ? FromCache(cached, lookup.Error)
                : new MtaStsResolution(domain, null, null, false, null, lookup.Error);
        }

        if (cached is not null && cached.IsValidAt(now) && cached.Id == record.Id)
        {
            return FromCache(cached, null);
        }

        // The id differs from what this instance holds: another instance may already have fetched it.
        cached = await cache.GetAsync(domain, fromTable: true, cancellationToken).ConfigureAwait(false);
        if (cached is not null && cached.IsValidAt(now) && cached.Id == record.Id)
        {
            return FromCache(cached, null);
        }

        // RFC 8461 §3.3: after a failed fetch, the same id is not fetched again for at least 5 minutes.
        if (cached?.LastFailureId == record.Id && now - cached.LastFailureAt < FailedFetchBackOff)
        {
            var reason = $"policy fetch for id {record.Id} failed at {cached.LastFailureAt:u}, next try after {cached.LastFailureAt + FailedFetchBackOff:u}: {cached.LastFailure}";
            return cached.IsValidAt(now) ? FromCache(cached, reason) : new MtaStsResolution(domain, null, null, false, null, reason);
        }

        // Concurrent attempts to the same domain share one fetch.
        var key = $"{domain}|{record.Id}";
        var fetch = _fetching.GetOrAdd(key, _ => new Lazy<Task<MtaStsResolution>>(() => FetchAndStoreAsync(domain, record.Id, cached, cancellationToken)));
        try
        {
            return await fetch.Value.ConfigureAwait(false);
        }
        finally
        {
            _fetching.TryRemove(new KeyValuePair<string, Lazy<Task<MtaStsResolution>>>(key, fetch));
        }
    }

    /// <summary>
    /// Fetches the policy again even when the cached one is current (the proactive refresh), unless the TXT
    /// record is gone or the id is in back-off. The cached policy is kept on any failure.
    /// </summary>
    /// <returns>The fetch result, or null when no fetch was made (and why).</returns>
    public async Task<(MtaStsFetchResult? Result, string? Skipped)> RefreshAsync(CachedMtaStsPolicy entry, CancellationToken cancellationToken)
    {
        var lookup = await discovery.LookupAsync(entry.Domain, cancellationToken).ConfigureAwait(false);
        if (lookup.Record is not { } record)
        {
            return (null, lookup.Error);
        }

        var now = time.GetUtcNow();
        if (entry.LastFailureId == record.Id && now - entry.LastFailureAt < FailedFetchBackOff)
        {
            return (null, $"id {record.Id} is in back-off after a failed fetch at {entry.LastFailureAt:u}");
        }

        var resolution = await FetchAndStoreAsync(entry.Domain, record.Id, entry, cancellationToken).ConfigureAwait(false);
        return (resolution.FetchFailure ?? MtaStsFetchResult.Success(resolution.Policy!), null);
    }

    /// <summary>
    /// RFC 8461 §5.1: before a message fails for good because of an enforced policy, look for a new policy id;
    /// true when a different policy than the one applied is now in force (the delivery is worth one more try).
    /// </summary>
    public async Task<bool> HasNewPolicyAsync(string domain, CancellationToken cancellationToken)
    {
        domain = Dns.DnsClientResolver.ToAscii(domain);
        var before = await cache.GetAsync(domain, fromTable: true, cancellationToken).ConfigureAwait(false);
        var resolution = await ResolveAsync(domain, cancellationToken).ConfigureAwait(false);
        return resolution.Id is not null && resolution.Id != before?.Id;
    }

    private async Task<MtaStsResolution> FetchAndStoreAsync(string domain, string id, CachedMtaStsPolicy? cached, CancellationToken cancellationToken)
    {
        var result = await fetcher.FetchAsync(domain, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        if (result.Policy is { } policy)
        {
            // RFC 8461 §3.3: cache for max_age from this successful fetch.
            var entry = new CachedMtaStsPolicy(domain, id, policy.ToString(), now, now.AddSeconds(policy.MaxAgeSeconds));
            await cache.SaveAsync(entry, cancellationToken).ConfigureAwait(false);
            Log.Fetched(_logger, domain, id, policy.Mode.ToWire(), policy.MaxAgeSeconds);
            return new MtaStsResolution(domain, policy, id, false, null, null);
        }

        Log.FetchFailed(_logger, domain, id, result.Error ?? "");
        var failed = (cached ?? new CachedMtaStsPolicy(domain, null, null, null, null)) with
        {
            LastFailureId = id,
            LastFailureAt = now,
            LastFailure = result.Error,
        };
        await cache.SaveAsync(failed, cancellationToken).ConfigureAwait(false);

        // RFC 8461 §5.1: no live policy but a valid cached one: the cached one applies.
        return failed.IsValidAt(now)
            ? new MtaStsResolution(domain, failed.Policy, failed.Id, true, result, $"refresh failed, cached policy kept: {result.Error}")
            : new MtaStsResolution(domain, null, null, false, result, result.Error);
    }

    private static MtaStsResolution FromCache(CachedMtaStsPolicy cached, string? reason) =>
        new(cached.Domain, cached.Policy, cached.Id, true, null, reason);
}
