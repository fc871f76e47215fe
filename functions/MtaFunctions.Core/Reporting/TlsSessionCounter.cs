using System.Collections.Concurrent;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Reporting;

/// <summary>A counted group of identical session results: what one failure-details row (or the success count) holds.</summary>
/// <param name="Policy">The policy.</param>
/// <param name="ReceivingMxHostname">The MX host.</param>
/// <param name="ReceivingIp">The MX address.</param>
/// <param name="SendingIp">Our address.</param>
/// <param name="Failure">Null for successes.</param>
/// <param name="FailureReasonCode">Reason text of failures.</param>
public sealed record TlsSessionKey(
    TlsRptPolicy Policy, string ReceivingMxHostname, string? ReceivingIp, string? SendingIp, TlsRptResultType? Failure, string? FailureReasonCode);

/// <summary>
/// Counts TLS session results in memory, grouped by everything a report row distinguishes, so that storage
/// writes grow with the number of distinct rows, not with the number of messages.
/// </summary>
public sealed class TlsSessionCounter : ITlsSessionRecorder
{
    private ConcurrentDictionary<TlsSessionKey, StrongBox> _counts = new();

    /// <inheritdoc />
    public void Record(TlsSessionResult result)
    {
        var key = new TlsSessionKey(result.Policy, result.ReceivingMxHostname, result.ReceivingIp, result.SendingIp, result.Failure, result.FailureReasonCode);
        var box = _counts.GetOrAdd(key, _ => new StrongBox());
        Interlocked.Increment(ref box.Value);
    }

    /// <summary>Takes every count recorded so far and starts afresh; each session is handed out exactly once.</summary>
    public IReadOnlyDictionary<TlsSessionKey, long> Drain()
    {
        var taken = Interlocked.Exchange(ref _counts, new ConcurrentDictionary<TlsSessionKey, StrongBox>());

        // A Record() that fetched the old dictionary just before the swap may still increment it; a short
        // spin on the boxes is not enough, so counts are read after the swap and late increments land in
        // the next drain through the re-add below.
        var result = new Dictionary<TlsSessionKey, long>();
        foreach (var (key, box) in taken)
        {
            var value = Interlocked.Exchange(ref box.Value, 0);
            if (value > 0)
            {
                result[key] = value;
            }
        }

        foreach (var (key, box) in taken)
        {
            var late = Interlocked.Exchange(ref box.Value, 0);
            if (late > 0)
            {
                var current = _counts.GetOrAdd(key, _ => new StrongBox());
                Interlocked.Add(ref current.Value, late);
            }
        }

        return result;
    }

    /// <summary>The counts so far, without taking them.</summary>
    public IReadOnlyDictionary<TlsSessionKey, long> Peek() =>
        _counts.ToDictionary(p => p.Key, p => Interlocked.Read(ref p.Value.Value));

    private sealed class StrongBox
    {
        public long Value;
    }
}
