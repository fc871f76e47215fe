using Microsoft.Extensions.Logging;

namespace MtaFunctions.Core.Reporting.Outbound;

/// <summary>Log events of outgoing TLS reporting.</summary>
internal static partial class TlsReportLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "TLS results flush failed; kept for the next flush")]
    public static partial void FlushFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "TLS report period {Period}: {Domains} policy domains planned")]
    public static partial void Planned(ILogger logger, string period, int domains);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "TLS report {ReportId} for {Domain} not sent: {Reason}")]
    public static partial void NotReported(ILogger logger, string reportId, string domain, string reason);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Information, Message = "TLS report {ReportId} for {Domain} sent to {Rua} ({Size} bytes)")]
    public static partial void Sent(ILogger logger, string reportId, string domain, string rua, long size);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Warning, Message = "TLS report {ReportId} for {Domain} to {Rua} failed (attempt {Attempt}): {Error}")]
    public static partial void SendFailed(ILogger logger, string reportId, string domain, string rua, int attempt, string error);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "TLS report {ReportId} for {Domain} is {Size} bytes, over MaxSize {MaxSize}: not sent to {Rua}")]
    public static partial void TooLarge(ILogger logger, string reportId, string domain, long size, long maxSize, string rua);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Warning, Message = "TLS report rua {Rua} failed {Periods} periods in a row: suppressed until {Until:u}")]
    public static partial void Suppressed(ILogger logger, string rua, int periods, DateTimeOffset until);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Warning, Message = "TLS report {ReportId} for {Domain} to {Rua}: gave up after {Attempts} attempts over 24 h")]
    public static partial void GaveUp(ILogger logger, string reportId, string domain, string rua, int attempts);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Warning, Message = "TLS report run failed for period {Period}")]
    public static partial void PeriodFailed(ILogger logger, string period, Exception exception);
}
