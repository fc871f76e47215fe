using Microsoft.Azure.Functions.Worker;
using MtaFunctions.Core.Reporting.Outbound;

namespace MtaFunctions;

/// <summary>Closes TLS report periods and sends due aggregate reports (RFC 8460), every five minutes.</summary>
public sealed class SendTlsReports(TlsReportSender sender)
{
    [Function(nameof(SendTlsReports))]
    public Task Run([TimerTrigger(TlsReportDefaults.Schedule)] TimerInfo timer, CancellationToken cancellationToken) =>
        sender.RunAsync(cancellationToken);
}
