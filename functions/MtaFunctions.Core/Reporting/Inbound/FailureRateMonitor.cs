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
    public double Percent => TotalSessions == 0 ? 0 : FailedSessions * 100.0 / TotalSessions;
}

/// <summary>
/// Watches each domain's daily failure rate as reports arrive and warns (log + metric) when a report takes it above
/// <see cref="TlsRptInboundSettings.FailureRateWarningPercent"/>: once per crossing, not once per report.
/// </summary>
public sealed class FailureRateMonitor(IReceivedTlsReportStore store, TlsRptInboundSettings settings, ILogger<FailureRateMonitor> logger)
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

    /// <summary>Checks the days of the reports just stored; returns the warnings raised.</summary>
    public async Task<IReadOnlyList<FailureRateWarning>> CheckAsync(IEnumerable<ReceivedDomainReport> added, CancellationToken cancellationToken)
    {
        var warnings = new List<FailureRateWarning>();
        foreach (var row in added)
        {
            long failed = 0, total = 0;
            await foreach (var day in store.QueryAsync(row.Domain, row.Day, row.Day, cancellationToken).ConfigureAwait(false))
            {
                failed += day.FailedSessions;
                total += day.SuccessfulSessions + day.FailedSessions;
            }

            var beforeFailed = failed - row.FailedSessions;
            var beforeTotal = total - row.SuccessfulSessions - row.FailedSessions;
            if (Above(failed, total) && !Above(beforeFailed, beforeTotal))
            {
                var warning = new FailureRateWarning(row.Domain, row.Day, failed, total);
                warnings.Add(warning);
                Log.FailureRateExceeded(logger, row.Domain, row.Day, warning.Percent, failed, total, settings.FailureRateWarningPercent);
                Warnings.Add(1, new KeyValuePair<string, object?>("domain", row.Domain));
            }
        }

        return warnings;
    }

    private bool Above(long failed, long total) => total > 0 && failed * 100 > settings.FailureRateWarningPercent * total;
}
