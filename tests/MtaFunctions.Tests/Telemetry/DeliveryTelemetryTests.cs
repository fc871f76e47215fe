using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Core.Telemetry;
using MtaFunctions.Tests.Infrastructure;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace MtaFunctions.Tests.Telemetry;

/// <summary>The telemetry tests run alone: the meter and activity source are process-wide, and a parallel delivery would add to the counts.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection
{
    public const string Name = "telemetry";
}

/// <summary>
/// Traces and metrics of real deliveries (Azurite, loopback DNS and SMTP with TLS), read through OpenTelemetry's
/// in-memory exporter: a delivered, a deferred and a bounced recipient.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class DeliveryTelemetryTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    [Fact]
    public async Task DeliveredDeferredBounced_CountedTimedAndTracedWithoutLocalParts()
    {
        var activities = new List<Activity>();
        var metrics = new List<MetricSnapshot>();
        using var tracer = Sdk.CreateTracerProviderBuilder().AddSource(MtaTelemetry.Name).AddInMemoryExporter(activities).Build();
        using var meter = Sdk.CreateMeterProviderBuilder().AddMeter(MtaTelemetry.Name).AddInMemoryExporter(metrics).Build();
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("ok.tel.test", "mx.ok.tel.test", "127.0.0.71");
        host.AddDomain("later.tel.test", "mx.later.tel.test", "127.0.0.72");
        host.AddDomain("never.tel.test", "mx.never.tel.test", "127.0.0.73");
        host.AddSmtpServer("127.0.0.71", host.Ca.IssueServer(["mx.ok.tel.test"]));
        host.AddSmtpServer("127.0.0.72", host.Ca.IssueServer(["mx.later.tel.test"])).RecipientReplies["secret.later@later.tel.test"] = (451, "4.3.0 Try later");
        host.AddSmtpServer("127.0.0.73", host.Ca.IssueServer(["mx.never.tel.test"])).RecipientReplies["secret.never@never.tel.test"] = (550, "5.1.1 No such user");
        string[] recipients = ["secret.ok@ok.tel.test", "secret.later@later.tel.test", "secret.never@never.tel.test"];
        var id = await host.SendAsync(Sender, recipients, MtaTestHost.Message(Sender, recipients[0]));

        // One pass of the trigger: the message itself (the DSN it queues is left on the queue).
        var message = Assert.Single((await host.OutboundQueue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken)).Value);
        await host.Handler.HandleAsync(message.Body.ToString(), message.DequeueCount, CancellationToken.None);
        meter.ForceFlush();
        tracer.ForceFlush();

        // Metrics: names, units and values.
        Assert.Equal(1, Sum(metrics, "mtafunctions.messages.delivered", "{recipient}", ("mta.tls.policy", "pkix")));
        Assert.Equal(1, Sum(metrics, "mtafunctions.messages.deferred", "{recipient}", ("mta.tls.policy", "pkix")));
        Assert.Equal(1, Sum(metrics, "mtafunctions.messages.bounced", "{recipient}", ("mta.tls.policy", "pkix")));
        Assert.Equal(1, HistogramCount(metrics, "mtafunctions.delivery.latency", "s", ("mta.outcome", "delivered")));
        Assert.Equal(1, HistogramCount(metrics, "mtafunctions.delivery.latency", "s", ("mta.outcome", "bounced")));
        Assert.Equal(3, HistogramCount(metrics, "mtafunctions.smtp.session.duration", "s", ("mta.smtp.result", "none")));
        Assert.True(HistogramCount(metrics, "mtafunctions.dns.duration", "s", ("dns.question.type", "MX")) >= 3);
        Assert.Equal(0, Sum(metrics, "mtafunctions.dns.failures", "{query}"));

        // Traces: one attempt span per domain, with MX lookup, policy resolution and SMTP session children.
        var attempts = activities.Where(a => a.OperationName == "mta.delivery.attempt").ToList();
        Assert.Equal(["later.tel.test", "never.tel.test", "ok.tel.test"], attempts.Select(a => (string)a.GetTagItem("mta.destination.domain")!).Order());
        Assert.All(attempts, a =>
        {
            Assert.Equal(id, a.GetTagItem("mta.message.id"));
            Assert.Equal(1, a.GetTagItem("mta.attempt"));
            var children = activities.Where(c => c.ParentSpanId == a.SpanId).Select(c => c.OperationName).ToList();
            Assert.Contains("mta.mx.lookup", children);
            Assert.Contains("mta.policy.resolve", children);
            Assert.Contains("mta.smtp.session", children);
        });
        var session = activities.Single(a => a.OperationName == "mta.smtp.session" && (string?)a.GetTagItem("server.address") == "mx.ok.tel.test");
        Assert.Equal("127.0.0.71", session.GetTagItem("network.peer.address"));
        Assert.Equal(ActivityStatusCode.Error, attempts.Single(a => (string)a.GetTagItem("mta.destination.domain")! == "never.tel.test").Status);

        // No recipient local part (nor any address) in any attribute.
        var values = activities.SelectMany(a => a.TagObjects.Select(t => t.Value?.ToString() ?? ""))
            .Concat(metrics.SelectMany(m => m.MetricPoints.SelectMany(p => Tags(p).Select(t => t.Value?.ToString() ?? ""))))
            .ToList();
        Assert.NotEmpty(values);
        Assert.DoesNotContain(values, v => v.Contains("secret", StringComparison.Ordinal) || v.Contains('@', StringComparison.Ordinal));
    }

    [Fact]
    public async Task OtlpEndpointUnreachable_DeliveryGoesOn()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [MtaTelemetryServiceCollectionExtensions.OtlpEndpoint] = $"http://127.0.0.1:{FreePort.Next()}",
            [MtaTelemetryServiceCollectionExtensions.OtlpProtocol] = "http/protobuf",
        }).Build();
        await using var host = await MtaTestHost.StartAsync(storage, s => s.AddMtaTelemetry(config, "MtaFunctions.Tests"));
        var meter = host.Services.GetRequiredService<MeterProvider>();
        host.AddDomain("down.tel.test", "mx.down.tel.test", "127.0.0.74");
        host.AddSmtpServer("127.0.0.74", host.Ca.IssueServer(["mx.down.tel.test"]));

        var id = await host.SendAsync(Sender, ["a@down.tel.test"], MtaTestHost.Message(Sender, "a@down.tel.test"));
        await host.PumpAsync();
        meter.ForceFlush(5000);

        Assert.Equal("Delivered", (await host.StatusAsync(id))["a@down.tel.test"].State);
    }

    [Fact]
    public async Task OtlpEndpoint_ReceivesTracesAndMetricsOfADelivery()
    {
        await using var collector = new LoopbackHttpCollector();
        var port = collector.Port;
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [MtaTelemetryServiceCollectionExtensions.OtlpEndpoint] = $"http://127.0.0.1:{port}",
            [MtaTelemetryServiceCollectionExtensions.OtlpProtocol] = "http/protobuf",
        }).Build();
        await using var host = await MtaTestHost.StartAsync(storage, s => s.AddMtaTelemetry(config, "MtaFunctions.Tests"));
        var tracer = host.Services.GetRequiredService<TracerProvider>();
        var meter = host.Services.GetRequiredService<MeterProvider>();
        host.AddDomain("otlp.tel.test", "mx.otlp.tel.test", "127.0.0.75");
        host.AddSmtpServer("127.0.0.75", host.Ca.IssueServer(["mx.otlp.tel.test"]));

        await host.SendAsync(Sender, ["a@otlp.tel.test"], MtaTestHost.Message(Sender, "a@otlp.tel.test"));
        await host.PumpAsync();
        Assert.True(tracer.ForceFlush(10_000));
        Assert.True(meter.ForceFlush(10_000));
        var got = await collector.StopAsync();

        Assert.Contains(got, r => r.Path == "/v1/traces" && Contains(r.Body, "mta.delivery.attempt") && Contains(r.Body, "otlp.tel.test"));
        Assert.Contains(got, r => r.Path == "/v1/metrics" && Contains(r.Body, "mtafunctions.messages.delivered"));
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    private static IEnumerable<KeyValuePair<string, object?>> Tags(MetricPoint point)
    {
        var list = new List<KeyValuePair<string, object?>>();
        foreach (var tag in point.Tags)
        {
            list.Add(tag);
        }

        return list;
    }

    private static IEnumerable<MetricPoint> Points(List<MetricSnapshot> metrics, string name, string unit, (string Key, string Value)[] tags)
    {
        var snapshot = metrics.LastOrDefault(m => m.Name == name);
        if (snapshot is null)
        {
            return [];
        }

        Assert.Equal(unit, snapshot.Unit);
        return snapshot.MetricPoints.Where(p => tags.All(t => Tags(p).Any(kv => kv.Key == t.Key && Equals(kv.Value?.ToString(), t.Value))));
    }

    private static long Sum(List<MetricSnapshot> metrics, string name, string unit, params (string Key, string Value)[] tags) =>
        Points(metrics, name, unit, tags).Sum(p => p.GetSumLong());

    private static long HistogramCount(List<MetricSnapshot> metrics, string name, string unit, params (string Key, string Value)[] tags) =>
        Points(metrics, name, unit, tags).Sum(p => p.GetHistogramCount());
}
