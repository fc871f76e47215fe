using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MtaFunctions.Core.Telemetry;
using MtaFunctions.Tests.Infrastructure;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace MtaFunctions.Tests.Telemetry;

/// <summary>
/// The Azure Monitor exporter as the app configures it from <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c>, with the
/// ingestion (and live metrics) endpoint on a loopback HTTP listener of the test: a delivery's spans and metrics
/// are POSTed there; an ingestion endpoint that does not answer does not stop delivery.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class AppInsightsExportTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    static AppInsightsExportTests()
    {
        // Statsbeat and SDK stats (the exporter's own usage telemetry) go to Microsoft endpoints and the VM metadata
        // address (169.254.169.254): tests talk only to loopback.
        Environment.SetEnvironmentVariable("APPLICATIONINSIGHTS_STATSBEAT_DISABLED", "true");
        Environment.SetEnvironmentVariable("APPLICATIONINSIGHTS_SDKSTATS_DISABLED", "true");
    }

    private static IConfiguration Settings(int port) => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        [MtaTelemetryServiceCollectionExtensions.AppInsightsConnectionString] =
            $"InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:{port}/;LiveEndpoint=http://127.0.0.1:{port}/",
    }).Build();

    /// <summary>Starts the hosted services as the Function App's and LocalHost's hosts do: the exporter adds its trace and log export in one.</summary>
    private static async Task<List<IHostedService>> StartHostedAsync(MtaTestHost host)
    {
        var hosted = host.Services.GetServices<IHostedService>().ToList();
        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        return hosted;
    }

    private static async Task StopAsync(List<IHostedService> hosted)
    {
        foreach (var service in hosted)
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Delivery_SpansAndMetricsPostedToTheIngestionEndpoint()
    {
        // The Breeze answer: everything accepted.
        await using var collector = new LoopbackHttpCollector("{\"itemsReceived\":1000,\"itemsAccepted\":1000,\"errors\":[]}");
        var port = collector.Port;
        await using (var host = await MtaTestHost.StartAsync(storage, s => s.AddMtaTelemetry(Settings(port), "MtaFunctions.Tests")))
        {
            var hosted = await StartHostedAsync(host);

            var tracer = host.Services.GetRequiredService<TracerProvider>();
            var meter = host.Services.GetRequiredService<MeterProvider>();
            host.AddDomain("ai.tel.test", "mx.ai.tel.test", "127.0.0.76");
            host.AddSmtpServer("127.0.0.76", host.Ca.IssueServer(["mx.ai.tel.test"]));

            var id = await host.SendAsync(Sender, ["a@ai.tel.test"], MtaTestHost.Message(Sender, "a@ai.tel.test"));
            await host.PumpAsync();
            Assert.Equal("Delivered", (await host.StatusAsync(id))["a@ai.tel.test"].State);
            Assert.True(tracer.ForceFlush(30_000));
            Assert.True(meter.ForceFlush(30_000));
            await StopAsync(hosted);
        }

        var got = (await collector.StopAsync()).Select(r => (r.Path, Body: Encoding.UTF8.GetString(r.Body))).ToList();

        var track = got.Where(r => r.Path is "/v2.1/track" or "/v2/track").Select(r => r.Body).ToList();
        Assert.True(track.Count > 0, "nothing posted to /v2.1/track; paths: " + string.Join(", ", got.Select(r => r.Path)));
        Assert.Contains(track, b => b.Contains("\"name\":\"mta.delivery.attempt\"", StringComparison.Ordinal) && b.Contains("ai.tel.test", StringComparison.Ordinal));
        Assert.Contains(track, b => b.Contains("mtafunctions.messages.delivered", StringComparison.Ordinal));
        Assert.All(track, b => Assert.Contains("00000000-0000-0000-0000-000000000000", b, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sampler_ABurstOfAttempts_EveryOneTraced()
    {
        await using var host = await MtaTestHost.StartAsync(storage, s => s.AddMtaTelemetry(Settings(FreePort.Next()), "MtaFunctions.Tests"));
        var hosted = await StartHostedAsync(host);
        _ = host.Services.GetRequiredService<TracerProvider>();

        // Many instances start at once after a quiet spell: each attempt span is a root, and each must be kept.
        var recorded = 0;
        for (var i = 0; i < 200; i++)
        {
            using var attempt = MtaTelemetry.Source.StartActivity("mta.delivery.attempt");
            recorded += attempt is { Recorded: true } ? 1 : 0;
        }

        await StopAsync(hosted);
        Assert.Equal(200, recorded);
    }

    [Fact]
    public async Task IngestionEndpointUnreachable_DeliveryGoesOn()
    {
        await using var host = await MtaTestHost.StartAsync(storage, s => s.AddMtaTelemetry(Settings(FreePort.Next()), "MtaFunctions.Tests"));
        var hosted = await StartHostedAsync(host);
        var tracer = host.Services.GetRequiredService<TracerProvider>();
        var meter = host.Services.GetRequiredService<MeterProvider>();
        host.AddDomain("down.ai.tel.test", "mx.down.ai.tel.test", "127.0.0.77");
        host.AddSmtpServer("127.0.0.77", host.Ca.IssueServer(["mx.down.ai.tel.test"]));

        var id = await host.SendAsync(Sender, ["a@down.ai.tel.test"], MtaTestHost.Message(Sender, "a@down.ai.tel.test"));
        await host.PumpAsync();
        tracer.ForceFlush(5000);
        meter.ForceFlush(5000);

        Assert.Equal("Delivered", (await host.StatusAsync(id))["a@down.ai.tel.test"].State);
        var second = await host.SendAsync(Sender, ["b@down.ai.tel.test"], MtaTestHost.Message(Sender, "b@down.ai.tel.test"));
        await host.PumpAsync();
        Assert.Equal("Delivered", (await host.StatusAsync(second))["b@down.ai.tel.test"].State);
        await StopAsync(hosted);
    }
}
