using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>
/// The RefreshStsPolicies timer: fetches cached policies again about once a day, so that a live delivery
/// rarely waits on HTTPS and a policy does not expire while in use (RFC 8461 §3.3, §10.1).
/// </summary>
/// <remarks>
/// The timer fires hourly; each domain is due <see cref="RefreshInterval"/> after its last fetch minus a
/// jitter of up to <see cref="MaxJitter"/> derived from the domain name, so refreshes of many domains
/// spread over the day instead of bunching at one hour. Failures are logged, except for mode none.
/// </remarks>
public sealed class MtaStsRefreshHandler(MtaStsResolver resolver, MtaStsPolicyCache cache, TimeProvider time, ILogger<MtaStsRefreshHandler> logger)
{
    /// <summary>NCRONTAB schedule of the timer (seconds first): hourly at minute 17.</summary>
    public const string Schedule = "0 17 * * * *";

    /// <summary>A policy is refreshed about this long after its last successful fetch.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromHours(24);

    /// <summary>Up to this much earlier, per domain.</summary>
    public static readonly TimeSpan MaxJitter = TimeSpan.FromHours(4);

    /// <summary>Entries holding no policy, only an old failure, are removed after this long.</summary>
    public static readonly TimeSpan FailureRetention = TimeSpan.FromDays(1);

    /// <summary>Refreshes every due cached policy; returns how many were refreshed.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        int seen = 0, refreshed = 0, failed = 0, removed = 0;
        await foreach (var entry in cache.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            seen++;
            if (entry.PolicyText is null || entry.ExpiresAt <= now)
            {
                // Nothing to keep alive: a failure-only or long-expired entry; deliveries fetch on demand.
                if ((entry.LastFailureAt ?? entry.ExpiresAt ?? now) + FailureRetention <= now)
                {
                    removed += await cache.PurgeAsync(entry.Domain, cancellationToken).ConfigureAwait(false) ? 1 : 0;
                }

                continue;
            }

            if (now < DueAt(entry))
            {
                continue;
            }

            var (result, skipped) = await resolver.RefreshAsync(entry, cancellationToken).ConfigureAwait(false);
            if (result?.Policy is not null)
            {
                refreshed++;
            }
            else if (entry.Policy?.Mode != MtaStsMode.None)
            {
                // RFC 8461 §10.1: alert on refresh failures unless the cached mode is none.
                failed++;
                Log.RefreshFailed(logger, entry.Domain, entry.Policy?.Mode.ToWire() ?? "", entry.ExpiresAt, result?.Error ?? skipped ?? "");
            }
        }

        Log.RefreshDone(logger, seen, refreshed, failed, removed);
        return refreshed;
    }

    /// <summary>When <paramref name="entry"/> is next due: last fetch + 24 h − a per-domain jitter in [0, 4 h).</summary>
    public static DateTimeOffset DueAt(CachedMtaStsPolicy entry)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(entry.Domain));
        var jitter = TimeSpan.FromSeconds(BitConverter.ToUInt32(hash, 0) % (uint)MaxJitter.TotalSeconds);
        var due = entry.FetchedAt!.Value + RefreshInterval - jitter;

        // A short max_age must be renewed before it lapses, not a day later.
        var beforeExpiry = entry.ExpiresAt!.Value - (entry.ExpiresAt.Value - entry.FetchedAt.Value) / 4;
        return due < beforeExpiry ? due : beforeExpiry;
    }
}
