using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Operations;
using MtaFunctions.Core.Reporting.Inbound;

namespace MtaFunctions.LocalHost;

/// <summary>
/// The Function App's HTTP routes on a Kestrel server bound to loopback (<c>LocalHost:Http:Port</c>), calling the
/// same handlers as its triggers. Function keys are not checked here: the server only listens on 127.0.0.1.
/// </summary>
public static class LocalHttpHost
{
    /// <summary>Adds the Kestrel server and the routes to the LocalHost.</summary>
    public static IHostBuilder ConfigureLocalHttp(this IHostBuilder builder) =>
        builder.ConfigureWebHost(web => web
            .UseKestrel()
            .ConfigureKestrel((context, kestrel) =>
            {
                var port = SettingsReader.Int(context.Configuration, SettingKeys.LocalHostHttpPort, 0, 65535);
                kestrel.Listen(IPAddress.Loopback, port);
            })
            .ConfigureServices(services => services.AddRouting())
            .Configure(app => app.UseRouting().UseEndpoints(MapRoutes)));

    /// <summary>The address the server listens on, e.g. <c>http://127.0.0.1:7071</c> (useful with port 0).</summary>
    public static Uri BaseAddress(IHost host)
    {
        var addresses = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses
            ?? throw new InvalidOperationException("the HTTP server has no address; is the host started?");
        return new Uri(addresses.First());
    }

    /// <summary>Maps the routes under <c>/api/</c>, as the Function App serves them.</summary>
    public static void MapRoutes(IEndpointRouteBuilder routes)
    {
        const string prefix = "/" + TlsRptRoutes.Prefix + "/";
        routes.MapPost(prefix + TlsRptRoutes.Report, async (HttpContext context, TlsRptHttpHandler handler) =>
            Send(await handler.PostReportAsync(context.Request.Body, context.Request.ContentType, context.Request.ContentLength, context.Request.Query["key"].FirstOrDefault(), context.RequestAborted)));
        routes.MapPost(prefix + TlsRptRoutes.Mail, async (HttpContext context, TlsRptHttpHandler handler) =>
            Send(await handler.PostMailAsync(context.Request.Body, context.Request.ContentLength, context.RequestAborted)));
        routes.MapGet(prefix + TlsRptRoutes.Summary, async (HttpContext context, TlsRptHttpHandler handler) =>
            Send(await handler.GetSummaryAsync(context.Request.Query["domain"].FirstOrDefault(), context.Request.Query["from"].FirstOrDefault(), context.Request.Query["to"].FirstOrDefault(), context.RequestAborted)));
        routes.MapGet(prefix + TlsRptRoutes.Dashboard, () => Send(TlsRptHttpHandler.GetDashboard()));
        routes.MapGet(prefix + OutboundRoutes.Summary, async (HttpContext context, OutboundHttpHandler handler) =>
            Send(await handler.GetSummaryAsync(context.Request.Query["hours"].FirstOrDefault(), context.RequestAborted)));
        routes.MapGet(prefix + OutboundRoutes.Dashboard, () => Send(OutboundHttpHandler.GetDashboard()));
    }

    private static IResult Send(TlsRptHttpResponse response) =>
        Results.Content(response.Body, response.ContentType, Encoding.UTF8, response.StatusCode);
}
