using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Storage;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Delivery;

/// <summary>
/// The fleet-wide destination limits in real delivery: three engine instances (as three Function App instances)
/// on one Azurite, all handling queue messages at once, against one MX that records its peak concurrent sessions.
/// </summary>
public sealed class DestinationLimitDeliveryTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    [Fact]
    public async Task Deliver_ThreeInstancesAtOnce_NeverMoreConnectionsThanTheLimit()
    {
        await using var host = await MtaTestHost.StartAsync(
            storage, ("Queue:Outbound:Limits:MaxConnections", "2"), ("Queue:Outbound:Smtp:ConnectionIdleTime", "1s"));
        host.AddDomain("capped.test", "mx.capped.test", "127.0.0.71");
        var mx = host.AddSmtpServer("127.0.0.71", host.Ca.IssueServer(["mx.capped.test"]));
        var ids = new List<string>();
        for (var i = 0; i < 24; i++)
        {
            ids.Add(await host.SendAsync(Sender, [$"r{i}@capped.test"], MtaTestHost.Message(Sender, $"r{i}@capped.test")));
        }

        await using var second = host.NewInstance();
        await using var third = host.NewInstance();
        await RunInstancesAsync(host, [host.Handler, second.GetRequiredService<OutboundDeliveryHandler>(), third.GetRequiredService<OutboundDeliveryHandler>()],
            () => mx.Inbox.Count >= 24);

        Assert.Equal(24, mx.Inbox.Count);
        Assert.InRange(mx.PeakSessions, 1, 2);
        foreach (var id in ids)
        {
            Assert.All((await host.StatusAsync(id)).Values, row => Assert.Equal(nameof(DeliveryState.Delivered), row.State));
        }
    }

    [Fact]
    public async Task Deliver_DestinationSays421TooManyConnections_LimitGoesDownForAllInstances_NothingLost()
    {
        await using var host = await MtaTestHost.StartAsync(
            storage, ("Queue:Outbound:Limits:MaxConnections", "6"), ("Queue:Outbound:Smtp:ConnectionIdleTime", "1s"));
        host.AddDomain("busy.test", "mx.busy.test", "127.0.0.72");
        var mx = host.AddSmtpServer("127.0.0.72", host.Ca.IssueServer(["mx.busy.test"]));
        mx.BusyAbove = 1;
        for (var i = 0; i < 18; i++)
        {
            await host.SendAsync(Sender, [$"b{i}@busy.test"], MtaTestHost.Message(Sender, $"b{i}@busy.test"));
        }

        await using var second = host.NewInstance();
        await using var third = host.NewInstance();
        await RunInstancesAsync(host, [host.Handler, second.GetRequiredService<OutboundDeliveryHandler>(), third.GetRequiredService<OutboundDeliveryHandler>()],
            () => mx.Inbox.Count >= 18);

        Assert.Equal(18, mx.Inbox.Count);
        Assert.True(mx.BusyReplies > 0, "the sink never said 421: the test did not exercise the back-off");
        var backoff = (await new DestinationLimitStore(storage.Tables).ReadAsync("mx.busy.test", CancellationToken.None)).Backoff;
        Assert.NotNull(backoff);
        Assert.InRange(backoff.Limit, 1, 5);
    }

    [Fact]
    public async Task Deliver_DestinationSays421ThenTakesMoreAgain_LimitComesBackUp_EveryMessageDelivered_WaitsNotCounted()
    {
        // Limits:BusyRecovery = 2s: the back-off grows back by one connection every 2 seconds (a minute by default).
        await using var host = await MtaTestHost.StartAsync(
            storage, ("Queue:Outbound:Limits:MaxConnections", "4"), ("Queue:Outbound:Limits:BusyRecovery", "2s"),
            ("Queue:Outbound:Smtp:ConnectionIdleTime", "1s"), ("Queue:Outbound:RetrySchedule", "1s"));
        host.AddDomain("recover.test", "mx.recover.test", "127.0.0.73");
        var mx = host.AddSmtpServer("127.0.0.73", host.Ca.IssueServer(["mx.recover.test"]));
        await using var second = host.NewInstance();
        await using var third = host.NewInstance();
        OutboundDeliveryHandler[] instances = [host.Handler, second.GetRequiredService<OutboundDeliveryHandler>(), third.GetRequiredService<OutboundDeliveryHandler>()];

        // 1. The destination says 421 to a second connection: the limit goes down for all three instances.
        mx.BusyAbove = 1;
        var sent = new List<(string Id, string Sender)>();
        for (var i = 0; i < 12; i++)
        {
            // One envelope sender per message, so the sink's 421s can be counted per message.
            var sender = $"s{i}@sender.test";
            sent.Add((await host.SendAsync(sender, [$"r{i}@recover.test"], MtaTestHost.Message(sender, $"r{i}@recover.test")), sender));
        }

        await RunInstancesAsync(host, instances, () => mx.Inbox.Count >= 12);
        Assert.True(mx.BusyReplies > 0, "the sink never said 421: the test did not exercise the back-off");
        var store = new DestinationLimitStore(storage.Tables);
        var backoff = (await store.ReadAsync("mx.recover.test", CancellationToken.None)).Backoff;
        Assert.NotNull(backoff);
        Assert.InRange(backoff.Limit, 1, 3);

        // 2. The destination takes connections again; the limit grows back to the configured 4.
        mx.BusyAbove = null;
        while (DestinationLimiter.EffectiveLimit(4, (await store.ReadAsync("mx.recover.test", CancellationToken.None)).Backoff, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(2)) < 4)
        {
            await Task.Delay(200);
        }

        // 3. With the sink holding every end-of-data reply, the instances open as many connections as the limit now
        //    allows: more than the back-off left, never more than configured.
        mx.ResetPeak();
        var release = new TaskCompletionSource<(int Code, string Text)>(TaskCreationOptions.RunContinuationsAsynchronously);
        mx.EndOfDataGate = release.Task;
        for (var i = 12; i < 24; i++)
        {
            var sender = $"s{i}@sender.test";
            sent.Add((await host.SendAsync(sender, [$"r{i}@recover.test"], MtaTestHost.Message(sender, $"r{i}@recover.test")), sender));
        }

        var run = RunInstancesAsync(host, instances, () => mx.Inbox.Count >= 24);
        for (var waited = 0; mx.OpenSessions < 4 && waited < 600; waited++)
        {
            await Task.Delay(100);
        }

        var open = mx.OpenSessions;
        release.SetResult((250, "2.0.0 ok"));
        await run;

        Assert.Equal(4, open);
        Assert.InRange(mx.PeakSessions, 4, 4);

        // Every message delivered; its attempts are the sink's answers (one 250, plus each 421 it got), never the
        // time it spent waiting for a connection slot.
        Assert.Equal(24, mx.Inbox.Count);
        foreach (var (id, sender) in sent)
        {
            var row = Assert.Single((await host.StatusAsync(id)).Values);
            Assert.Equal(nameof(DeliveryState.Delivered), row.State);
            Assert.Equal(1 + mx.BusyRepliesBySender.GetValueOrDefault(sender), row.Attempts);
        }
    }

    /// <summary>Each instance takes up to 8 queue messages at a time and handles them concurrently, as the Functions host does.</summary>
    private static async Task RunInstancesAsync(MtaTestHost host, IReadOnlyList<OutboundDeliveryHandler> instances, Func<bool> done)
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var loops = instances.Select(handler => Task.Run(async () =>
        {
            while (!done() && !stop.IsCancellationRequested)
            {
                var batch = (await host.OutboundQueue.ReceiveMessagesAsync(8, TimeSpan.FromMinutes(2))).Value;
                if (batch.Length == 0)
                {
                    await Task.Delay(100);
                    continue;
                }

                await Task.WhenAll(batch.Select(async message =>
                {
                    await handler.HandleAsync(message.Body.ToString(), message.DequeueCount, CancellationToken.None);
                    await host.OutboundQueue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
                }));
            }
        }));
        await Task.WhenAll(loops);
        Assert.True(done(), "not every message arrived within 3 minutes");
    }
}
