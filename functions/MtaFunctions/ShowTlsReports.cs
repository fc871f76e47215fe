using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using MtaFunctions.Core.Reporting.Inbound;

namespace MtaFunctions;

/// <summary>The read side of received TLS reports: the summary JSON and the dashboard page (function key required).</summary>
public sealed class ShowTlsReports(TlsRptHttpHandler handler)
{
    [Function("TlsReportSummary")]
    public async Task<IActionResult> Summary(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = TlsRptRoutes.Summary)] HttpRequest request,
        CancellationToken cancellationToken) =>
        (await handler.GetSummaryAsync(request.Query["domain"].FirstOrDefault(), request.Query["from"].FirstOrDefault(), request.Query["to"].FirstOrDefault(), cancellationToken)).ToResult();

    [Function("TlsReportDashboard")]
    public IActionResult Dashboard(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = TlsRptRoutes.Dashboard)] HttpRequest request) =>
        TlsRptHttpHandler.GetDashboard().ToResult();
}
