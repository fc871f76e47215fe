using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using MtaFunctions.Core.Operations;

namespace MtaFunctions;

/// <summary>The outbound view: the summary JSON and the dashboard page (function key required, as the TLS-RPT view).</summary>
public sealed class ShowOutbound(OutboundHttpHandler handler)
{
    [Function("OutboundSummary")]
    public async Task<IActionResult> Summary(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = OutboundRoutes.Summary)] HttpRequest request,
        CancellationToken cancellationToken) =>
        (await handler.GetSummaryAsync(request.Query["hours"].FirstOrDefault(), cancellationToken)).ToResult();

    [Function("OutboundDashboard")]
    public IActionResult Dashboard(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = OutboundRoutes.Dashboard)] HttpRequest request) =>
        OutboundHttpHandler.GetDashboard().ToResult();
}
