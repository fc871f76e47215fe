using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Core.Reporting.Inbound;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Tests.Reporting.Inbound;

/// <summary>The Function App's trigger classes, called directly with the handler the LocalHost uses.</summary>
public sealed class ReceiveTlsReportTests(TlsRptHostFixture fixture) : IClassFixture<TlsRptHostFixture>
{
    [Fact]
    public async Task Run_GzipReport_202AndSummaryTriggerShowsIt()
    {
        var handler = fixture.Host.Services.GetRequiredService<TlsRptHttpHandler>();
        var context = new DefaultHttpContext();
        var body = TlsRptHostFixture.Gzip(TlsRptReports.Json(TlsRptReports.Sts("Trigger Org", "t-1", "mta.example", new DateOnly(2026, 2, 1), 8, ("dane-required", "mx.mta.example", 1))));
        context.Request.Body = new MemoryStream(body);
        context.Request.ContentType = TlsRptMediaTypes.Gzip;
        context.Request.ContentLength = body.Length;

        var posted = Assert.IsType<ContentResult>(await new ReceiveTlsReport(handler).Run(context.Request, TestContext.Current.CancellationToken));
        var summaryContext = new DefaultHttpContext();
        summaryContext.Request.QueryString = new QueryString("?domain=mta.example&from=2026-02-01&to=2026-02-01");
        var summary = Assert.IsType<ContentResult>(await new ShowTlsReports(handler).Summary(summaryContext.Request, TestContext.Current.CancellationToken));

        Assert.Equal(202, posted.StatusCode);
        Assert.Equal(200, summary.StatusCode);
        Assert.Contains("\"totals\":{\"reports\":1,\"successful\":8,\"failed\":1,", summary.Content, StringComparison.Ordinal);
    }

    [Fact]
    public void Dashboard_Trigger_ServesTheEmbeddedPage()
    {
        var page = Assert.IsType<ContentResult>(new ShowTlsReports(fixture.Host.Services.GetRequiredService<TlsRptHttpHandler>()).Dashboard(new DefaultHttpContext().Request));

        Assert.Equal(200, page.StatusCode);
        Assert.Equal(TlsRptDashboard.Html, page.Content);
        Assert.StartsWith("<!DOCTYPE html>", page.Content, StringComparison.Ordinal);
    }
}
