using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Policy;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Reporting.Outbound;

/// <summary>The doors of outgoing reports: the timer function, the operator command, the https guard.</summary>
public sealed class TlsReportDoorsTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private static readonly DateTimeOffset Friday = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);

    private static TlsSessionResult Session(string domain, TlsRptResultType? failure = null) =>
        new(TlsRptPolicy.NoPolicy(domain), $"mx.{domain}", "192.0.2.1", "198.51.100.7", failure);

    [Fact]
    public async Task SendTlsReports_TimerTick_RunsTheSender()
    {
        await ReportingTables.ResetAsync(storage);
        var time = new FakeTimeProvider(Friday);
        await using var host = await MtaTestHost.StartAsync(
            storage, s => s.AddSingleton<TimeProvider>(time), [.. TestDkimKeys.Settings(), ("Report:Tls:Aggregate:Send", "daily")]);
        host.Dns.Txt("_smtp._tls.example.com", "v=TLSRPTv1; rua=mailto:tlsrpt@reports.test");
        host.Services.GetRequiredService<ITlsSessionRecorder>().Record(Session("example.com"));
        time.SetUtcNow(new DateTimeOffset(2026, 11, 28, 4, 11, 0, TimeSpan.Zero));

        await new SendTlsReports(host.Services.GetRequiredService<TlsReportSender>()).Run(new TimerInfo(), CancellationToken.None);
        Assert.Equal(1, (await host.OutboundQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public void Schedule_LocalHostAndFunctionApp_Same() => TimerSchedules.AssertSame(typeof(SendTlsReports), TlsReportDefaults.Schedule);
    [Fact]
    public async Task TlsRptPending_CountsAndReports_Listed()
    {
        await ReportingTables.ResetAsync(storage);
        var time = new FakeTimeProvider(Friday);
        await using var host = await MtaTestHost.StartAsync(
            storage, s => s.AddSingleton<TimeProvider>(time), [.. TestDkimKeys.Settings(), ("Report:Tls:Aggregate:Send", "daily")]);
        host.Dns.Txt("_smtp._tls.example.com", "v=TLSRPTv1; rua=mailto:tlsrpt@reports.test");
        var recorder = host.Services.GetRequiredService<ITlsSessionRecorder>();
        recorder.Record(Session("example.com"));
        time.SetUtcNow(new DateTimeOffset(2026, 11, 28, 4, 11, 0, TimeSpan.Zero));
        await host.Services.GetRequiredService<TlsReportSender>().RunAsync(CancellationToken.None);

        // Sessions of the current period: two to example.net, one failed; flushed as the running app does.
        recorder.Record(Session("example.net"));
        recorder.Record(Session("example.net", TlsRptResultType.CertificateExpired));
        await host.Services.GetRequiredService<TlsResultsFlusher>().FlushAsync(CancellationToken.None);

        string[] settings = [.. TestDkimKeys.Settings().SelectMany(s => new[] { "--set", $"{s.Key}={s.Value}" }), "--set", "Report:Tls:Aggregate:Send=daily",
            "--set", "Queue:Outbound:Hostname=mta.sender.test", "--connection-string", storage.ConnectionString];
        var run = await Tool.ToolRun.RunAsync(["tlsrpt", "pending", .. settings], env => env with { Time = time });
        Assert.True(run.Exit == 0, run.ToString());
        var text = run.Out;
        Assert.Contains("Current period d20261128", text, StringComparison.Ordinal);
        Assert.Matches(@"example\.net\s+1 successful\s+1 failed", text);
        Assert.Matches(@"d20261127 example\.com\s+done", text);
        Assert.Contains("mailto:tlsrpt@reports.test sent attempts 1", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TlsRptPending_SendNever_SaysReportsAreOff()
    {
        var run = await Tool.ToolRun.RunAsync(["tlsrpt", "pending", "--connection-string", storage.ConnectionString]);
        Assert.True(run.Exit == 0, run.ToString());
        Assert.Contains("TLS reports are off", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostAsync_RuaResolvingToLoopback_RefusedByTheGuard()
    {
        using var dns = new TestDnsServer();
        dns.A("rua.evil.test", "127.0.0.1");
        var resolver = new DnsClientResolver(new Core.Configuration.DnsSettings { Servers = [dns.EndPoint], Timeout = TimeSpan.FromSeconds(2) });
        using var poster = new TlsReportHttpPoster(resolver, new DestinationGuard(allowPrivate: false), new TrustedRoots(null));
        var error = await poster.PostAsync(new Uri("https://rua.evil.test:1/v1"), [1, 2, 3], CancellationToken.None);
        Assert.StartsWith("rua host rua.evil.test: rua.evil.test resolves only to non-public addresses (127.0.0.1); refused", error, StringComparison.Ordinal);
        var literal = await poster.PostAsync(new Uri("https://169.254.169.254/v1"), [1], CancellationToken.None);
        Assert.StartsWith("rua host 169.254.169.254: 169.254.169.254 resolves only to non-public addresses (169.254.169.254); refused", literal, StringComparison.Ordinal);
    }
}
