using System.Text.Json;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MtaFunctions.Client;
using MtaFunctions.Core;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Delivery;
using MtaFunctions.LocalHost;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Delivery;

/// <summary>The doors: the Function App trigger, LocalHost's WebJobs host, the producer CLI, start-up checks.</summary>
public sealed class HostsAndClientTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    [Fact]
    public async Task DeliverOutbound_FunctionTrigger_HandsQueueMessageToHandler()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("fn.test", "mx.fn.test", "127.0.0.31");
        host.AddSmtpServer("127.0.0.31", host.Ca.IssueServer(["mx.fn.test"]));
        await host.SendAsync(Sender, ["a@fn.test"], MtaTestHost.Message(Sender, "a@fn.test"));
        var received = Assert.Single((await host.OutboundQueue.ReceiveMessagesAsync(1)).Value);
        // host.json messageEncoding "none": the trigger gets the queue text as stored (the producer's base64).
        var raw = BinaryData.FromString(Convert.ToBase64String(received.Body.ToArray()));
        var message = QueuesModelFactory.QueueMessage(received.MessageId, received.PopReceipt, raw, 1);

        await new DeliverOutbound(host.Handler).Run(message, CancellationToken.None);

        Assert.Equal(["a@fn.test"], Assert.Single(host.Inbox).To);
    }

    [Fact]
    public async Task LocalHost_WebJobsQueueTrigger_DeliversFromQueue()
    {
        await using var peers = await MtaTestHost.StartAsync(storage);
        peers.AddDomain("local.test", "mx.local.test", "127.0.0.32");
        peers.AddSmtpServer("127.0.0.32", peers.Ca.IssueServer(["mx.local.test"]));
        using var app = LocalHostBuilder.Build([], Path.GetTempPath(), c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = storage.ConnectionString,
            ["Dns:Servers"] = peers.Dns.EndPoint.ToString(),
            ["Queue:Outbound:Smtp:Port"] = peers.SmtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Queue:Outbound:Tls:ExtraRootCas"] = peers.Ca.PemFile,
            ["Queue:Outbound:AllowPrivateDestinations"] = "true",
            ["Queue:Outbound:Hostname"] = "mta.sender.test",
        }));
        await app.StartAsync();
        try
        {
            var id = await peers.SendAsync(Sender, ["b@local.test"], MtaTestHost.Message(Sender, "b@local.test"));
            for (var i = 0; i < 150 && peers.Inbox.IsEmpty; i++)
            {
                await Task.Delay(100);
            }

            Assert.Equal(["b@local.test"], Assert.Single(peers.Inbox).To);
            Assert.Equal("Delivered", (await peers.StatusAsync(id))["b@local.test"].State);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public void Startup_BadSetting_FailsNamingKeyAndAllowedValues()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["Queue:Outbound:Tls:StartTls"] = "mandatory",
        }).Build();

        var e = Assert.Throws<SettingsException>(() => new ServiceCollection().AddMtaCore(config));
        Assert.Equal("setting Queue:Outbound:Tls:StartTls: 'mandatory' is not one of optional, require, disable", e.Message);
        var local = Assert.Throws<SettingsException>(() => LocalHostBuilder.Build(["--Queue:Outbound:Tls:Dane=sometimes"], Path.GetTempPath()));
        Assert.Equal("setting Queue:Outbound:Tls:Dane: 'sometimes' is not one of optional, require, disable", local.Message);
    }

    [Fact]
    public void HostJson_MaxDequeueCount_MatchesHandlerLimit()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "functions", "MtaFunctions", "host.json")));
        var queues = doc.RootElement.GetProperty("extensions").GetProperty("queues");
        // The listener's limit is above the handler's, so the handler poisons (with a reason), not the listener.
        Assert.Equal(QueueLimits.HostMaxDequeueCount, queues.GetProperty("maxDequeueCount").GetInt32());
        Assert.True(QueueLimits.HostMaxDequeueCount > QueueLimits.MaxDequeueCount);
        // The handler decodes base64 itself, so a payload that is not base64 is poisoned with its reason.
        Assert.Equal("none", queues.GetProperty("messageEncoding").GetString());
    }

    [Theory]
    [InlineData("MtaFunctions.LocalHost.runtimeconfig.json")]
    [InlineData("MtaFunctions.runtimeconfig.json")]
    public void RuntimeConfig_ThreadPoolDoesNotSpin_DynamicPgoOff(string file)
    {
        // Both hosts share small instances with storage clients and sessions: idle workers must not burn CPU spinning,
        // and a host that lives for minutes does not win back what dynamic PGO's extra compilations cost.
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, file)));
        var properties = doc.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.Equal(0, properties.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32());
        Assert.False(properties.GetProperty("System.Runtime.TieredPGO").GetBoolean());
    }

    [Fact]
    public void HostJson_AppSettingOverrides_WinOverTheFile()
    {
        var options = new Microsoft.Azure.WebJobs.Host.QueuesOptions();
        MtaFunctions.LocalHost.HostJson.ApplyQueueOptions(Path.Combine(RepoPaths.Root, "functions", "MtaFunctions", "host.json"), options);
        var fileBatch = options.BatchSize;
        var config = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            // As the Functions host reads AzureFunctionsJobHost__extensions__queues__batchSize.
            ["AzureFunctionsJobHost:extensions:queues:batchSize"] = "7",
            ["AzureFunctionsJobHost:extensions:queues:newBatchThreshold"] = "3",
        }).Build();

        MtaFunctions.LocalHost.HostJson.ApplyQueueOverrides(config, options);

        Assert.NotEqual(7, fileBatch);
        Assert.Equal(7, options.BatchSize);
        Assert.Equal(3, options.NewBatchThreshold);
    }

    [Fact]
    public void HostJson_BadAppSettingOverride_NamesTheSetting()
    {
        var config = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureFunctionsJobHost:extensions:queues:batchSize"] = "many",
        }).Build();

        var e = Assert.Throws<InvalidDataException>(() => MtaFunctions.LocalHost.HostJson.ApplyQueueOverrides(config, new Microsoft.Azure.WebJobs.Host.QueuesOptions()));

        Assert.Contains("AzureFunctionsJobHost:extensions:queues:batchSize", e.Message);
    }

    [Fact]
    public async Task Handler_StorageFailing_RetriedByQueueThenPoisonedWithReason()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        var body = Convert.ToBase64String(MtaTestHost.Message("a@b.test", "c@d.test"));
        var payload = $$"""{"id":"m-broken","from":"a@b.test","to":["c@d.test"],"message":"{{body}}","queuedAt":"2026-01-01T00:00:00Z"}""";
        host.Dns.Mx("d.test", 0, ".");
        await host.OutboundQueue.DeleteAsync();

        await Assert.ThrowsAnyAsync<Azure.RequestFailedException>(() => host.Handler.HandleAsync(payload, 1, CancellationToken.None));
        await host.Handler.HandleAsync(payload, QueueLimits.MaxDequeueCount, CancellationToken.None);

        var poisoned = Assert.Single(await host.PoisonedAsync());
        Assert.StartsWith("failed 5 times, last: RequestFailedException", poisoned.Reason);
        Assert.Equal(payload, poisoned.Payload);
        await host.OutboundQueue.CreateIfNotExistsAsync();
    }
}
