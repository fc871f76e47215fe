using MtaFunctions.Client.Contract;

namespace MtaFunctions.Core.Operations;

/// <summary>Computes the <see cref="OutboundSummary"/> from Deliveries rows and a queue sample; no I/O.</summary>
public static class OutboundSummaryBuilder
{
    /// <summary>How many deferral reasons the summary keeps.</summary>
    public const int TopDeferralCount = 10;

    /// <summary>Longest reason kept (SMTP replies can be long multi-line texts).</summary>
    public const int MaxReasonLength = 300;

    /// <summary>Builds the summary.</summary>
    /// <param name="from">Start of the first hour; rows before it are ignored.</param>
    /// <param name="to">End of the range; rows after it are ignored.</param>
    /// <param name="rows">Rows whose last attempt ended in the range.</param>
    /// <param name="truncated">The reader stopped at its cap.</param>
    /// <param name="queue">The queue sample.</param>
    public static OutboundSummary Build(DateTimeOffset from, DateTimeOffset to, IReadOnlyCollection<DeliveryRecord> rows, bool truncated, OutboundQueueState queue)
    {
        from = HourOf(from);
        var inRange = rows.Where(r => r.LastAttemptAt is { } at && at >= from && at <= to).ToList();

        var hours = new List<OutboundHour>();
        for (var hour = from; hour <= to; hour = hour.AddHours(1))
        {
            var end = hour.AddHours(1);
            hours.Add(new OutboundHour(hour, Count(inRange.Where(r => r.LastAttemptAt >= hour && r.LastAttemptAt < end))));
        }

        var delivered = inRange.Where(r => r.ParsedState == DeliveryState.Delivered).ToList();
        var counts = OutboundTlsPostures.All.ToDictionary(p => p.ToWire(), _ => 0);
        foreach (var row in delivered)
        {
            if (OutboundTlsPostures.Of(row) is { } posture)
            {
                counts[posture.ToWire()]++;
            }
        }

        var shares = counts.ToDictionary(c => c.Key, c => delivered.Count == 0 ? 0 : Math.Round(100.0 * c.Value / delivered.Count, 2));

        var deferrals = inRange
            .Where(r => r.ParsedState == DeliveryState.Deferred)
            .GroupBy(r => (Domain: MailAddressSyntax.DomainOf(r.Recipient).ToLowerInvariant(), Reason: Reason(r.LastReply)))
            .Select(g => new OutboundDeferral(g.Key.Domain, g.Key.Reason, g.Count()))
            .OrderByDescending(d => d.Recipients).ThenBy(d => d.Domain, StringComparer.Ordinal).ThenBy(d => d.Reason, StringComparer.Ordinal)
            .Take(TopDeferralCount)
            .ToList();

        return new OutboundSummary(from, to, rows.Count, truncated, hours, Count(inRange), new OutboundTlsShares(delivered.Count, counts, shares), deferrals, queue);
    }

    /// <summary>The start of the UTC hour of <paramref name="at"/>.</summary>
    public static DateTimeOffset HourOf(DateTimeOffset at)
    {
        var utc = at.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    private static OutboundOutcomes Count(IEnumerable<DeliveryRecord> rows)
    {
        int delivered = 0, deferred = 0, bounced = 0, failed = 0;
        foreach (var row in rows)
        {
            switch (row.ParsedState)
            {
                case DeliveryState.Delivered: delivered++; break;
                case DeliveryState.Deferred: deferred++; break;
                case DeliveryState.Bounced: bounced++; break;
                case DeliveryState.Failed: failed++; break;
            }
        }

        return new OutboundOutcomes(delivered, deferred, bounced, failed);
    }

    private static string Reason(string? reply)
    {
        var text = string.Join(' ', (reply ?? "(no reply)").Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim();
        return text.Length <= MaxReasonLength ? text : text[..MaxReasonLength] + "…";
    }
}
