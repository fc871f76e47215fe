using System.Globalization;
using Microsoft.Playwright;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Reporting.Inbound;

/// <summary>The dashboard page in headless Debian chromium driven by Playwright, over the LocalHost's loopback HTTP.</summary>
public sealed class TlsRptDashboardTests(TlsRptHostFixture fixture) : IClassFixture<TlsRptHostFixture>
{
    [Fact]
    public async Task Dashboard_StoredReports_ChartsAndTablesShowTheFigures()
    {
        var day1 = new DateOnly(2026, 3, 1);
        var day2 = day1.AddDays(1);
        foreach (var report in new[]
                 {
                     TlsRptReports.Sts("Google Inc.", "d1", "dash.example", day1, 180, ("certificate-expired", "mx1.dash.example", 15), ("starttls-not-supported", "mx2.dash.example", 5)),
                     TlsRptReports.Sts("Microsoft Corporation", "d2", "dash.example", day1, 100),
                     TlsRptReports.Sts("Google Inc.", "d3", "dash.example", day2, 97, ("certificate-expired", "mx1.dash.example", 3)),
                 })
        {
            Assert.Equal(202, (await TlsRptHostFixture.PostAsync(fixture.Http, "/api/tlsrpt", TlsRptReports.Json(report), TlsRptMediaTypes.Json)).Status);
        }

        await using var chromium = await HeadlessChromium.LaunchAsync();
        var page = chromium.Page;

        await page.GotoAsync(new Uri(fixture.Http.BaseAddress!, "/api/tlsrpt/dashboard?domain=dash.example&from=2026-03-01&to=2026-03-02").ToString());
        await page.WaitForSelectorAsync("#dashboard[data-state=ready]", new PageWaitForSelectorOptions { Timeout = 30_000 });

        Assert.Equal("3", await page.TextContentAsync("#total-reports"));
        Assert.Equal("377", await page.TextContentAsync("#total-successful"));
        Assert.Equal("23", await page.TextContentAsync("#total-failed"));
        Assert.Equal("94.25 %", await page.TextContentAsync("#total-rate"));

        // Success rate over time: one point per day with the stored figures (day 1: 280 of 300, day 2: 97 of 100).
        var points = await page.Locator("#success-rate-chart circle.rate-point").EvaluateAllAsync<string[]>(
            "nodes => nodes.map(n => [n.dataset.date, n.dataset.rate, n.dataset.successful, n.dataset.failed].join('|'))");
        Assert.Equal(["2026-03-01|93.33|280|20", "2026-03-02|97|97|3"], points);
        var line = await page.GetAttributeAsync("#success-rate-chart polyline", "points");
        Assert.Equal(2, line!.Split(' ').Length);

        // Top failure types: one bar per type, longest for the most failures.
        var bars = await page.Locator("#failure-types-chart rect.failure-bar").EvaluateAllAsync<string[]>(
            "nodes => nodes.map(n => n.dataset.name + '|' + n.dataset.count + '|' + n.getAttribute('width'))");
        Assert.Equal(2, bars.Length);
        Assert.StartsWith("certificate-expired|18|", bars[0], StringComparison.Ordinal);
        Assert.StartsWith("starttls-not-supported|5|", bars[1], StringComparison.Ordinal);
        Assert.True(Width(bars[0]) > Width(bars[1]));

        // Reporting organisations.
        var organizations = await page.Locator("#organizations tbody tr").EvaluateAllAsync<string[]>(
            "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent).join('|'))");
        Assert.Equal(["Google Inc.|2|277|23|92.33 %", "Microsoft Corporation|1|100|0|100.00 %"], organizations);
        var hosts = await page.Locator("#mx-hosts tbody tr").EvaluateAllAsync<string[]>(
            "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent).join('|'))");
        Assert.Equal(["mx1.dash.example|18", "mx2.dash.example|5"], hosts);

        Assert.Empty(chromium.Errors);
    }

    private static double Width(string bar) => double.Parse(bar.Split('|')[2], CultureInfo.InvariantCulture);
}
