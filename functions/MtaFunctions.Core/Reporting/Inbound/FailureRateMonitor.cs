using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using MtaFunctions.Core.Configuration;

namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>A domain's UTC day whose failure rate went above the threshold.</summary>
/// <param name="Domain">The policy domain.</param>
/// <param name="Day">The UTC day.</param>
/// <param name="FailedSessions">Failed sessions that day, over all reports so far.</param>
/// <param name="TotalSessions">All sessions that day, over all reports so far.</param>
public sealed record FailureRateWarning(string Domain, DateOnly Day, long FailedSessions, long TotalSessions)
{
    /// <summary>Failed sessions in percent.</summary>
    public double Percent => TotalSessions == 0 ? 0 : (double)FailedSessions * 100.0 / TotalSessions;
}

/// <summary>
/// Watches each domain's daily failure rate as reports arrive and warns (log + metric) when a report takes it above
/// <see cref="TlsRptInboundSettings.FailureRateWarningPercent"/>: once per crossing, not once per report.
/// </summary>
public sealed class FailureRateMonitor(TlsRptInboundSettings settings, ILogger<FailureRateMonitor> logger)
{
    /// <summary>The meter of inbound TLS reports.</summary>
    public const string MeterName = "MtaFunctions.TlsRpt.Inbound";

    /// <summary>Counter of failure-rate warnings, tagged <c>domain</c>.</summary>
    public const string WarningCounterName = "mtafunctions.tlsrpt.failure_rate_warnings";

    /// <summary>Counter of received reports, tagged <c>outcome</c>.</summary>
    public const string ReportCounterName = "mtafunctions.tlsrpt.reports";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Warnings = Meter.CreateCounter<long>(WarningCounterName, "{warning}", "Domain-days whose TLS failure rate went above the threshold");
    private static readonly Counter<long> Reports = Meter.CreateCounter<long>(ReportCounterName, "{report}", "TLS reports received, by outcome");

    /// <summary>Counts one received report by outcome (stored, duplicate, invalid, ...).</summary>
    public static void CountReport(string outcome) => Reports.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Checks the running totals a stored report moved; returns the warnings raised.</summary>
    /// <remarks>
    /// The totals are the day's running totals before and after the report, as the store committed them (its
    /// ETags order concurrent writers), so a crossing is seen by exactly one report, and no row is read again.
    /// </remarks>
    public IReadOnlyList<FailureRateWarning> Check(IEnumerable<DomainDayChange> changes)
    {
        var warnings = new List<FailureRateWarning>();
        foreach (var change in changes)
        {
            if (Above(change.FailedAfter, change.TotalAfter) && !Above(change.FailedBefore, change.TotalBefore))
            {
                var warning = new FailureRateWarning(change.Domain, change.Day, change.FailedAfter, change.TotalAfter);
                warnings.Add(warning);
                Log.FailureRateExceeded(logger, change.Domain, change.Day, warning.Percent, change.FailedAfter, change.TotalAfter, settings.FailureRateWarningPercent);
                Warnings.Add(1, new KeyValuePair<string, object?>("domain", change.Domain));
            }
        }

        return warnings;
    }

    // In decimal: failed * 100 of a saturated total would overflow a long.
    private bool Above(long failed, long total) => total > 0 && (decimal)failed * 100 > (decimal)settings.FailureRateWarningPercent * total;
}
