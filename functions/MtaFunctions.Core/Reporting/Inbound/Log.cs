using Microsoft.Extensions.Logging;

namespace MtaFunctions.Core.Reporting.Inbound;

internal static partial class Log
{
    [LoggerMessage(601, LogLevel.Information, "TLS report {ReportId} of {Organization} stored for {Domains} (from {Source}): {Successful} successful, {Failed} failed sessions")]
    public static partial void Stored(ILogger logger, string organization, string reportId, string domains, string source, long successful, long failed);

    [LoggerMessage(602, LogLevel.Information, "TLS report {ReportId} of {Organization} was stored before; ignored")]
    public static partial void Duplicate(ILogger logger, string organization, string reportId);

    [LoggerMessage(603, LogLevel.Warning, "TLS report refused ({Status}): {Reason}")]
    public static partial void Refused(ILogger logger, TlsReportIntakeStatus status, string reason);

    [LoggerMessage(604, LogLevel.Warning, "TLS failure rate of {Domain} on {Day:yyyy-MM-dd} is {Percent:0.##}% ({Failed} of {Total} sessions), above the {Threshold}% threshold")]
    public static partial void FailureRateExceeded(ILogger logger, string domain, DateOnly day, double percent, long failed, long total, int threshold);
}
