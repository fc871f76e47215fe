using System.IO.Compression;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Tests.Infrastructure;
using MtaFunctions.Tests.Reporting.Outbound;

namespace MtaFunctions.Tests.Tool;

/// <summary>
/// <c>mta tlsrpt send</c> end to end: real deliveries record TLS sessions (Azurite, loopback DNS and SMTP with
/// TLS), then the tool closes the current period and the report arrives at the domain's https rua, once.
/// </summary>
public sealed class MtaToolTlsRptSendTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    private async Task<MtaTestHost> StartAsync()
    {
        await ReportingTables.ResetAsync(storage);
        var settings = TestDkimKeys.Settings().Append(("Report:Tls:Aggregate:Send", "daily")).ToArray();
        return await MtaTestHost.StartAsync(storage, settings);
    }

    /// <summary>The host's settings for the tool: the same storage, DNS, roots and report settings.</summary>
    private static string[] ToolSettings(MtaTestHost host) =>
    [
        "--connection-string", host.Storage.ConnectionString,
        .. host.Configuration.AsEnumerable()
            .Where(kv => kv.Value is not null && kv.Key != "AzureWebJobsStorage")
            .SelectMany(kv => new[] { "--set", $"{kv.Key}={kv.Value}" }),
    ];

    private static async Task<TestReportEndpoint> HttpsRuaAsync(MtaTestHost host, string domain, string ruaHost)
    {
        var endpoint = await TestReportEndpoint.StartAsync(host.Ca.IssueServer([ruaHost]));
        host.Dns.A(ruaHost, "127.0.0.1");
        host.Dns.Txt($"_smtp._tls.{domain}", $"v=TLSRPTv1; rua=https://{ruaHost}:{endpoint.Port}/v1/tlsrpt");
        return endpoint;
    }

    private static async Task DeliverAsync(MtaTestHost host, string domain, string ip, int messages)
    {
        host.AddDomain(domain, $"mx.{domain}", ip);
        host.AddSmtpServer(ip, host.Ca.IssueServer([$"mx.{domain}"]));
        for (var i = 0; i < messages; i++)
        {
            await host.SendAsync(Sender, [$"user{i}@{domain}"], MtaTestHost.Message(Sender, $"user{i}@{domain}"));
        }

        await host.PumpAsync(TimeSpan.FromSeconds(20), () => host.Inbox.Count(m => m.To.Any(t => t.EndsWith(domain, StringComparison.Ordinal))) >= messages);

        // The app instance writes its counts to the TlsResults table (its timer does so every few minutes).
        await host.Services.GetRequiredService<TlsResultsFlusher>().FlushAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Send_AfterDeliveries_ReportArrivesAtTheRuaOnceAcrossTwoCalls()
    {
        await using var host = await StartAsync();
        await using var endpoint = await HttpsRuaAsync(host, "send.tlsrpt.test", "rua.send.tlsrpt.test");
        await DeliverAsync(host, "send.tlsrpt.test", "127.0.0.91", 2);

        var first = await ToolRun.RunAsync(["tlsrpt", "send", .. ToolSettings(host)]);
        var second = await ToolRun.RunAsync(["tlsrpt", "send", "--json", .. ToolSettings(host)]);

        Assert.True(first.Exit == 0, first.ToString());
        var period = TlsReportPeriod.Containing(TlsReportFrequency.Daily, DateTimeOffset.UtcNow);
        Assert.StartsWith($"Period {period.Key} (", first.Out, StringComparison.Ordinal);
        Assert.Contains("closed now; sent 1, failed 0, not reported 0", first.Out, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^  send\.tlsrpt\.test\s+done\s+\S+@mta\.sender\.test https://rua\.send\.tlsrpt\.test:\d+/v1/tlsrpt: sent", first.Out);

        Assert.True(second.Exit == 0, second.ToString());
        var json = second.Json();
        Assert.Equal(period.Key, json.GetProperty("period").GetProperty("key").GetString());
        Assert.Equal((0, 0, 0, 0), (json.GetProperty("periodsPlanned").GetInt32(), json.GetProperty("sent").GetInt32(), json.GetProperty("failed").GetInt32(), json.GetProperty("notReported").GetInt32()));
        Assert.Equal("done", Assert.Single(json.GetProperty("reports").EnumerateArray()).GetProperty("state").GetString());

        // Exactly one report, holding the sessions of the deliveries (fewer sessions when a pooled connection was reused).
        var (contentType, body) = Assert.Single(endpoint.Received);
        Assert.Equal("application/tlsrpt+gzip", contentType);
        using var gunzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
        using var text = new MemoryStream();
        await gunzip.CopyToAsync(text, TestContext.Current.CancellationToken);
        var report = TlsRptReportSerializer.Parse(text.ToArray());
        var policy = Assert.Single(report.Policies);
        Assert.Equal("send.tlsrpt.test", policy.Policy.PolicyDomain);
        Assert.InRange(policy.Summary.TotalSuccessfulSessionCount, 1, 2);
        Assert.Equal(0, policy.Summary.TotalFailureSessionCount);
    }

    [Fact]
    public async Task Send_RuaRefuses_ExitsOneAndSaysItIsRetried()
    {
        await using var host = await StartAsync();
        await using var endpoint = await HttpsRuaAsync(host, "refused.tlsrpt.test", "rua.refused.tlsrpt.test");
        endpoint.Statuses.Enqueue(503);
        await DeliverAsync(host, "refused.tlsrpt.test", "127.0.0.92", 1);

        var run = await ToolRun.RunAsync(["tlsrpt", "send", .. ToolSettings(host)]);

        Assert.True(run.Exit == 1, run.ToString());
        Assert.Contains("sent 0, failed 1, not reported 0", run.Out, StringComparison.Ordinal);
        Assert.Contains("1 report(s) could not be sent; they are retried by the timer", run.Error, StringComparison.Ordinal);
        Assert.Single(endpoint.Received);
    }

    [Fact]
    public async Task Send_Previous_ClosesYesterdaysPeriodWithNothingCounted()
    {
        await using var host = await StartAsync();

        var run = await ToolRun.RunAsync(["tlsrpt", "send", "--yesterday", "--json", .. ToolSettings(host)]);

        Assert.True(run.Exit == 0, run.ToString());
        var yesterday = TlsReportPeriod.Containing(TlsReportFrequency.Daily, DateTimeOffset.UtcNow).Previous;
        Assert.Equal(yesterday.Key, run.Json().GetProperty("period").GetProperty("key").GetString());
        Assert.Empty(run.Json().GetProperty("reports").EnumerateArray());
    }

    [Fact]
    public async Task Send_At_ClosesThePeriodOfThatTime()
    {
        await using var host = await StartAsync();

        var run = await ToolRun.RunAsync(["tlsrpt", "send", "--at", "2026-11-20T13:00:00Z", .. ToolSettings(host)]);

        Assert.True(run.Exit == 0, run.ToString());
        Assert.StartsWith("Period " + TlsReportPeriod.Containing(TlsReportFrequency.Daily, new DateTimeOffset(2026, 11, 20, 13, 0, 0, TimeSpan.Zero)).Key + " (2026-11-20 00:00:00Z to 2026-11-21 00:00:00Z)", run.Out, StringComparison.Ordinal);
        Assert.Contains("(no sessions counted in this period: no report)", run.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("never", "TLS reports are off (Report:Tls:Aggregate:Send = never)")]
    [InlineData("hourly", "TLS reports are OFF because a report setting cannot be used (delivery runs): setting Report:Tls:Aggregate:Sign:")]
    public async Task Send_ReportsOff_ExitsOneSayingWhy(string send, string message)
    {
        var run = await ToolRun.RunAsync(["tlsrpt", "send", "--connection-string", storage.ConnectionString, "--set", $"Report__Tls__Aggregate__Send={send}"]);

        Assert.True(run.Exit == 1, run.ToString());
        Assert.Contains(message, run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_PreviousAndAt_Usage()
    {
        var run = await ToolRun.RunAsync(["tlsrpt", "send", "--previous", "--at", "2026-11-20T00:00Z", "--connection-string", storage.ConnectionString]);

        Assert.True(run.Exit == 2, run.ToString());
        Assert.Contains("send takes at most one of --previous, --at TIME", run.Error, StringComparison.Ordinal);
    }
}
