using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Core.Telemetry;
using MtaFunctions.Tests.Infrastructure;
using MtaFunctions.Tests.Reporting.Outbound;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace MtaFunctions.Tests.Telemetry;

/// <summary>The outgoing TLS report counters, read through the in-memory exporter: one report accepted by its https rua, one refused.</summary>
[Collection(TelemetryCollection.Name)]
public sealed class TlsReportTelemetryTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private static TlsSessionResult Session(string domain) =>
        new(TlsRptPolicy.NoPolicy(domain), $"mx.{domain}", "192.0.2.1", "198.51.100.7", null);

    [Fact]
    public async Task SendNow_OneSentOneFailed_CountedByRuaScheme()
    {
        var metrics = new List<MetricSnapshot>();
        using var meter = Sdk.CreateMeterProviderBuilder().AddMeter(MtaTelemetry.Name).AddInMemoryExporter(metrics).Build();
        await ReportingTables.ResetAsync(storage);
        await using var host = await MtaTestHost.StartAsync(storage, [.. TestDkimKeys.Settings(), ("Report:Tls:Aggregate:Send", "daily")]);
        await using var accepting = await TestReportEndpoint.StartAsync(host.Ca.IssueServer(["rua.ok.metrics.test"]));
        await using var refusing = await TestReportEndpoint.StartAsync(host.Ca.IssueServer(["rua.no.metrics.test"]));
        refusing.Statuses.Enqueue(500);
        foreach (var (domain, ruaHost, port) in new[] { ("ok.metrics.test", "rua.ok.metrics.test", accepting.Port), ("no.metrics.test", "rua.no.metrics.test", refusing.Port) })
        {
            host.Dns.A(ruaHost, "127.0.0.1");
            host.Dns.Txt($"_smtp._tls.{domain}", $"v=TLSRPTv1; rua=https://{ruaHost}:{port}/v1/tlsrpt");
            host.Services.GetRequiredService<TlsSessionCounter>().Record(Session(domain));
        }

        var result = await host.Services.GetRequiredService<TlsReportSender>().SendNowAsync(DateTimeOffset.UtcNow, CancellationToken.None);
        meter.ForceFlush();

        Assert.Equal((1, 1), (result.Sent, result.Failed));
        Assert.Equal(1, Sum(metrics, "mtafunctions.tlsrpt.outbound.sent"));
        Assert.Equal(1, Sum(metrics, "mtafunctions.tlsrpt.outbound.failed"));
    }

    private static long Sum(List<MetricSnapshot> metrics, string name)
    {
        var metric = metrics.Last(m => m.Name == name);
        Assert.Equal("{report}", metric.Unit);
        long sum = 0;
        foreach (var point in metric.MetricPoints)
        {
            var scheme = "";
            foreach (var tag in point.Tags)
            {
                scheme = tag.Key == MtaTelemetry.RuaSchemeTag ? tag.Value?.ToString() ?? "" : scheme;
            }

            Assert.Equal("https", scheme);
            sum += point.GetSumLong();
        }

        return sum;
    }
}
