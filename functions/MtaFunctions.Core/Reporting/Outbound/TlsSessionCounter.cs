using System.Collections.Concurrent;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Reporting.Outbound;

/// <summary>A counted group of identical session results: what one failure-details row (or the success count) holds.</summary>
/// <param name="Policy">The policy.</param>
/// <param name="ReceivingMxHostname">The MX host.</param>
/// <param name="ReceivingIp">The MX address.</param>
/// <param name="SendingIp">Our address.</param>
/// <param name="Failure">Null for successes.</param>
/// <param name="FailureReasonCode">Reason text of failures.</param>
public sealed record TlsSessionKey(
    TlsRptPolicy Policy, string ReceivingMxHostname, string? ReceivingIp, string? SendingIp, TlsRptResultType? Failure, string? FailureReasonCode);

/// <summary>A session group in the UTC hour it happened (<see cref="TlsReportPeriod.HourKey"/>).</summary>
/// <param name="Hour">The hour key, e.g. <c>2026112815</c>.</param>
/// <param name="Key">The group.</param>
public readonly record struct TlsSessionHourKey(string Hour, TlsSessionKey Key);

/// <summary>
/// Counts TLS session results in memory, grouped by everything a report row distinguishes and by UTC hour, so
/// that storage writes grow with the number of distinct rows, not with the number of messages.
/// </summary>
/// <param name="time">The clock stamping each session's hour (reports close periods on hour boundaries).</param>
public sealed class TlsSessionCounter(TimeProvider? time = null) : ITlsSessionRecorder, IDisposable
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    // Record() holds the read side while it touches the dictionary; Drain() holds the write side only for the
    // swap. After the swap no Record() can still be incrementing a box of the old dictionary, so a drain
    // hands out every session exactly once (no lost or double-counted session, whatever the concurrency).
    private readonly ReaderWriterLockSlim _swap = new(LockRecursionPolicy.NoRecursion);
    private ConcurrentDictionary<TlsSessionHourKey, StrongBox> _counts = new();

    /// <inheritdoc />
    public void Record(TlsSessionResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var key = new TlsSessionKey(result.Policy, result.ReceivingMxHostname, result.ReceivingIp, result.SendingIp, result.Failure, result.FailureReasonCode);
        var hourKey = new TlsSessionHourKey(TlsReportPeriod.HourKey(_time.GetUtcNow()), key);
        _swap.EnterReadLock();
        try
        {
            var box = _counts.GetOrAdd(hourKey, _ => new StrongBox());
            Interlocked.Increment(ref box.Value);
        }
        finally
        {
            _swap.ExitReadLock();
        }
    }

    /// <summary>Takes every count recorded so far and starts afresh; each session is handed out exactly once.</summary>
    public IReadOnlyDictionary<TlsSessionKey, long> Drain() => Sum(DrainByHour());

    /// <summary>As <see cref="Drain"/>, keeping the hour each session happened in.</summary>
    public IReadOnlyDictionary<TlsSessionHourKey, long> DrainByHour()
    {
        ConcurrentDictionary<TlsSessionHourKey, StrongBox> taken;
        _swap.EnterWriteLock();
        try
        {
            taken = _counts;
            _counts = new ConcurrentDictionary<TlsSessionHourKey, StrongBox>();
        }
        finally
        {
            _swap.ExitWriteLock();
        }

        var result = new Dictionary<TlsSessionHourKey, long>(taken.Count);
        foreach (var (key, box) in taken)
        {
            if (box.Value > 0)
            {
                result[key] = box.Value;
            }
        }

        return result;
    }

    /// <summary>The counts so far, without taking them.</summary>
    public IReadOnlyDictionary<TlsSessionKey, long> Peek() =>
        Sum(_counts.ToDictionary(p => p.Key, p => Interlocked.Read(ref p.Value.Value)));

    /// <summary>The counts so far by hour, without taking them.</summary>
    public IReadOnlyDictionary<TlsSessionHourKey, long> PeekByHour() =>
        _counts.ToDictionary(p => p.Key, p => Interlocked.Read(ref p.Value.Value));

    /// <inheritdoc />
    public void Dispose() => _swap.Dispose();

    private static Dictionary<TlsSessionKey, long> Sum(IReadOnlyDictionary<TlsSessionHourKey, long> byHour)
    {
        var sum = new Dictionary<TlsSessionKey, long>();
        foreach (var (key, value) in byHour)
        {
            sum[key.Key] = sum.GetValueOrDefault(key.Key) + value;
        }

        return sum;
    }

    private sealed class StrongBox
    {
        public long Value;
    }
}
