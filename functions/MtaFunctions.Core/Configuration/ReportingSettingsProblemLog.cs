using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MtaFunctions.Core.Configuration;

/// <summary>
/// At start-up, logs an error for each reporting feature a bad setting switched off: the app runs and
/// delivers, so this log (and <c>tlsrpt pending</c>) is where the operator learns that reports are off.
/// </summary>
public sealed partial class ReportingSettingsProblemLog(
    TlsReportSettings reports, TlsRptInboundSettings inbound, ILogger<ReportingSettingsProblemLog> logger) : IHostedService
{
    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (reports.Problem is { } outgoing)
        {
            OutgoingReportsOff(logger, outgoing.Key, outgoing.Message);
        }

        if (inbound.Problem is { } incoming)
        {
            InboundReportsOff(logger, incoming.Key, incoming.Message);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 5010, Level = LogLevel.Error,
        Message = "Outgoing TLS reports are OFF (delivery runs): {Problem}. Fix {Key} and restart to send reports.")]
    private static partial void OutgoingReportsOff(ILogger logger, string key, string problem);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Error,
        Message = "Incoming TLS reports are refused (delivery runs): {Problem}. Fix {Key} and restart to accept reports.")]
    private static partial void InboundReportsOff(ILogger logger, string key, string problem);
}
