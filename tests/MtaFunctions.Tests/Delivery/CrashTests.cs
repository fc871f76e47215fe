using MtaFunctions.Client;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Storage;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Delivery;

/// <summary>
/// Never twice across a crash: the LocalHost process is killed with SIGKILL after one domain's 250 while the
/// message as a whole is still in flight (another domain's transaction is open), then restarted.
/// </summary>
public sealed class CrashTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    [Fact]
    public async Task KilledAfter250_Restarted_Redelivered_NoSecondCopy()
    {
        await using var peers = await MtaTestHost.StartAsync(storage);
        peers.AddDomain("fast.test", "mx.fast.test", "127.0.0.81");
        peers.AddDomain("slow.test", "mx.slow.test", "127.0.0.82");
        var fast = peers.AddSmtpServer("127.0.0.81", peers.Ca.IssueServer(["mx.fast.test"]));
        var slow = peers.AddSmtpServer("127.0.0.82", peers.Ca.IssueServer(["mx.slow.test"]));
        var hold = new TaskCompletionSource<(int Code, string Text)>(TaskCreationOptions.RunContinuationsAsynchronously);
        slow.EndOfDataGate = hold.Task;
        var settings = peers.LocalHostSettings();
        var id = MtaClient.NewMessageId(TimeProvider.System);
        var body = MtaTestHost.Message(Sender, "a@fast.test");
        var writer = new OutboundQueueWriter(
            peers.Storage.Queues.GetQueueClient(StorageNames.OutboundQueue), peers.Storage.Blobs.GetBlobContainerClient(StorageNames.MessageContainer));
        await writer.EnqueueNewAsync(id, Sender, ["a@fast.test", "b@slow.test"], body, DateTimeOffset.UtcNow);

        using (var first = KillableLocalHost.Start(settings))
        {
            // fast.test said 250 and its row is written; slow.test has the whole message and holds its reply:
            // the message as a whole is still in flight (its queue message not yet completed).
            await WaitAsync(async () => fast.EndOfDataCount > 0 && slow.EndOfDataCount > 0 && (await peers.StatusAsync(id)).ContainsKey("a@fast.test"), first);
            first.KillHard();
        }

        // The dead session's transaction ends without delivery at slow.test (the reply never reached anyone).
        hold.SetResult((451, "4.3.0 the client went away"));

        // The killed instance's own queue message comes back (at once: the restarted host proves the killed process
        // gone, see KilledInFlight_...) for a message partly delivered: it must find a@fast.test final.
        // (Two queue messages of one envelope in one process take turns: SameEnvelopeAtOnceTests. Across instances
        // nothing claims an envelope.)
        slow.EndOfDataGate = null;
        using (var second = KillableLocalHost.Start(settings))
        {
            await WaitAsync(async () => (await peers.StatusAsync(id)).TryGetValue("b@slow.test", out var row) && row.State == nameof(DeliveryState.Delivered), second);
        }

        // The test servers share one inbox: count by envelope recipient.
        Assert.Single(peers.Inbox, m => m.To.SequenceEqual(["a@fast.test"]));
        Assert.Single(peers.Inbox, m => m.To.SequenceEqual(["b@slow.test"]));
        var status = await peers.StatusAsync(id);
        Assert.Equal(nameof(DeliveryState.Delivered), status["a@fast.test"].State);
        Assert.Equal(nameof(DeliveryState.Delivered), status["b@slow.test"].State);
    }

    /// <summary>
    /// Prompt crash recovery: the killed instance's own queue message (hidden by the listener for 10 minutes)
    /// is handed back by the restarted host through the InFlight record, and delivered once; nothing re-queued.
    /// </summary>
    [Fact]
    public async Task KilledInFlight_Restarted_OwnQueueMessageRedeliveredWithoutTenMinuteWait()
    {
        await using var peers = await MtaTestHost.StartAsync(storage);
        peers.AddDomain("held.test", "mx.held.test", "127.0.0.83");
        var held = peers.AddSmtpServer("127.0.0.83", peers.Ca.IssueServer(["mx.held.test"]));
        var hold = new TaskCompletionSource<(int Code, string Text)>(TaskCreationOptions.RunContinuationsAsynchronously);
        held.EndOfDataGate = hold.Task;
        var settings = peers.LocalHostSettings();
        var id = MtaClient.NewMessageId(TimeProvider.System);
        var writer = new OutboundQueueWriter(
            peers.Storage.Queues.GetQueueClient(StorageNames.OutboundQueue), peers.Storage.Blobs.GetBlobContainerClient(StorageNames.MessageContainer));
        await writer.EnqueueNewAsync(id, Sender, ["c@held.test"], MtaTestHost.Message(Sender, "c@held.test"), DateTimeOffset.UtcNow);
        var inFlight = new InFlightStore(peers.Storage.Tables);

        // Rows of hosts killed by other tests of this class may be there too: wait for this message's own entry.
        var queued = Assert.Single((await peers.OutboundQueue.PeekMessagesAsync(1)).Value).MessageId;

        DateTime killedAt;
        using (var first = KillableLocalHost.Start(settings))
        {
            // The body is at the MX (its reply held) and the instance has recorded the message as in flight.
            await WaitAsync(async () => held.EndOfDataCount > 0 && (await inFlight.ListAsync(default)).Any(r => r.Messages.Any(m => m.MessageId == queued)), first);
            first.KillHard();
            killedAt = DateTime.UtcNow;
        }

        hold.SetResult((451, "4.3.0 the client went away"));
        held.EndOfDataGate = null;
        using (var second = KillableLocalHost.Start(settings))
        {
            // Without recovery the queue message stays hidden for the listener's 10 minutes: this times out.
            await WaitAsync(async () => (await peers.StatusAsync(id)).TryGetValue("c@held.test", out var row) && row.State == nameof(DeliveryState.Delivered),
                second, TimeSpan.FromMinutes(4));
            TestContext.Current.TestOutputHelper?.WriteLine($"delivered {(DateTime.UtcNow - killedAt).TotalSeconds:0}s after the kill (includes the restart)");
        }

        Assert.Single(peers.Inbox, m => m.To.SequenceEqual(["c@held.test"]));
    }

    /// <summary>
    /// Nothing is sent before the instance's in-flight row lists the message: here the <c>InFlight</c> table answers
    /// slowly (its requests held by a proxy), and the host is killed the moment the MX has the body. Had the
    /// message gone out before its row was written, the row would not list it and the message would stay hidden
    /// for the listener's 10 minutes.
    /// </summary>
    [Fact]
    public async Task KilledRightAfterSend_InFlightTableSlow_SendWaitedForTheRow_RedeliveredWithoutTenMinuteWait()
    {
        await using var peers = await MtaTestHost.StartAsync(storage);
        peers.AddDomain("quick.test", "mx.quick.test", "127.0.0.85");
        var mx = peers.AddSmtpServer("127.0.0.85", peers.Ca.IssueServer(["mx.quick.test"]));
        var hold = new TaskCompletionSource<(int Code, string Text)>(TaskCreationOptions.RunContinuationsAsynchronously);
        mx.EndOfDataGate = hold.Task;
        var table = storage.Endpoints["Table"];
        using var proxy = new SlowRequestProxy(table, "/InFlight", TimeSpan.FromSeconds(5));
        var settings = peers.LocalHostSettings();
        settings["AzureWebJobsStorage"] = peers.Storage.ConnectionString.Replace($"TableEndpoint={table};", $"TableEndpoint={proxy.Via(table)};", StringComparison.Ordinal);
        Assert.NotEqual(peers.Storage.ConnectionString, settings["AzureWebJobsStorage"]);
        var id = MtaClient.NewMessageId(TimeProvider.System);
        var writer = new OutboundQueueWriter(
            peers.Storage.Queues.GetQueueClient(StorageNames.OutboundQueue), peers.Storage.Blobs.GetBlobContainerClient(StorageNames.MessageContainer));
        await writer.EnqueueNewAsync(id, Sender, ["e@quick.test"], MtaTestHost.Message(Sender, "e@quick.test"), DateTimeOffset.UtcNow);

        using (var first = KillableLocalHost.Start(settings))
        {
            await WaitAsync(() => Task.FromResult(mx.EndOfDataCount > 0), first);
            first.KillHard();
        }

        hold.SetResult((451, "4.3.0 the client went away"));
        mx.EndOfDataGate = null;
        using (var second = KillableLocalHost.Start(settings))
        {
            await WaitAsync(async () => (await peers.StatusAsync(id)).TryGetValue("e@quick.test", out var row) && row.State == nameof(DeliveryState.Delivered),
                second, TimeSpan.FromMinutes(4));
        }

        Assert.True(proxy.Held > 0);
        Assert.Single(peers.Inbox, m => m.To.SequenceEqual(["e@quick.test"]));
    }

    /// <summary>
    /// A message taken more often than the handler's limit without a result (a host killed while delivering it,
    /// again and again) ends in the poison queue with our reason, not as the listener would move it, and status
    /// shows its recipient failed.
    /// </summary>
    [Fact]
    public async Task TakenMoreOftenThanTheLimit_RealListener_PoisonedWithReason_StatusFailed()
    {
        await using var peers = await MtaTestHost.StartAsync(storage);
        peers.AddDomain("killed.test", "mx.killed.test", "127.0.0.84");
        var mx = peers.AddSmtpServer("127.0.0.84", peers.Ca.IssueServer(["mx.killed.test"]));
        var id = MtaClient.NewMessageId(TimeProvider.System);
        var writer = new OutboundQueueWriter(
            peers.Storage.Queues.GetQueueClient(StorageNames.OutboundQueue), peers.Storage.Blobs.GetBlobContainerClient(StorageNames.MessageContainer));
        await writer.EnqueueNewAsync(id, Sender, ["d@killed.test"], MtaTestHost.Message(Sender, "d@killed.test"), DateTimeOffset.UtcNow);

        // Taken as often as the handler's limit and never finished: each time made visible again, as a dead
        // instance's message comes back (the listener's 10 minutes, or InFlightRecovery).
        for (var i = 0; i < QueueLimits.MaxDequeueCount; i++)
        {
            var taken = Assert.Single((await peers.OutboundQueue.ReceiveMessagesAsync(1, TimeSpan.FromMinutes(1))).Value);
            await peers.OutboundQueue.UpdateMessageAsync(taken.MessageId, taken.PopReceipt, visibilityTimeout: TimeSpan.Zero);
        }

        using (var host = KillableLocalHost.Start(peers.LocalHostSettings()))
        {
            await WaitAsync(async () => (await peers.PoisonQueue.PeekMessagesAsync(32)).Value.Length > 0, host);
            var first = Assert.Single((await peers.PoisonQueue.PeekMessagesAsync(32)).Value).Body.ToString();
            Assert.True(first.TrimStart().StartsWith('{'), $"the poison queue holds the payload without our reason wrapper: {first}");
            await WaitAsync(async () => (await peers.StatusAsync(id)).ContainsKey("d@killed.test"), host);
        }

        var raw = Assert.Single((await peers.PoisonQueue.PeekMessagesAsync(32)).Value).Body.ToString();
        var poisoned = System.Text.Json.JsonSerializer.Deserialize<PoisonRecord>(raw)!;
        Assert.Equal($"taken {QueueLimits.MaxDequeueCount + 1} times without a result: the host stopped (killed, crashed or timed out) while delivering it", poisoned.Reason);
        Assert.Equal(id, MtaFunctions.Client.Contract.EnvelopeSerializer.Parse(poisoned.Payload).Id);
        var row = (await peers.StatusAsync(id))["d@killed.test"];
        Assert.Equal(nameof(DeliveryState.Failed), row.State);
        Assert.Contains("without a result", row.LastReply);
        Assert.Empty(mx.Inbox);
    }


    private static async Task WaitAsync(Func<Task<bool>> condition, KillableLocalHost host, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(90));
        while (!await condition())
        {
            Assert.False(host.HasExited, $"LocalHost exited:\n{host.Output}");
            Assert.True(DateTime.UtcNow < deadline, $"timed out; LocalHost output:\n{host.Output}");
            await Task.Delay(50);
        }
    }
}
