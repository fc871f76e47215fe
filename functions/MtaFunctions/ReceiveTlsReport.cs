using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using MtaFunctions.Core.Reporting.Inbound;

namespace MtaFunctions;

/// <summary>Receives TLS reports about our domains: POSTed by reporters (RFC 8460 §5.4) or handed over as mail.</summary>
/// <remarks>
/// Anonymous, because reporters cannot hold function keys; <c>Report:Tls:Inbound:Key</c> makes the report route
/// require <c>?key=</c>. The mail route is for our own webhook or poller, so it needs a function key.
/// </remarks>
public sealed class ReceiveTlsReport(TlsRptHttpHandler handler)
{
    [Function(nameof(ReceiveTlsReport))]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = TlsRptRoutes.Report)] HttpRequest request,
        CancellationToken cancellationToken) =>
        (await handler.PostReportAsync(request.Body, request.ContentType, request.ContentLength, request.Query["key"].FirstOrDefault(), cancellationToken)).ToResult();

    [Function("ReceiveTlsReportMail")]
    public async Task<IActionResult> RunMail(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = TlsRptRoutes.Mail)] HttpRequest request,
        CancellationToken cancellationToken) =>
        (await handler.PostMailAsync(request.Body, request.ContentLength, cancellationToken)).ToResult();
}
