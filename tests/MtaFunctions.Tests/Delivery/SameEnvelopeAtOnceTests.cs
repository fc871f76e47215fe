using System.Text;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MtaFunctions.Client.Contract;
using MtaFunctions.Tests.Infrastructure;
using MtaFunctions.Tests.Smtp;

namespace MtaFunctions.Tests.Delivery;

/// <summary>
/// One envelope in two queue messages (a producer's enqueue retried after a lost response), both taken in one batch
/// and handled at the same moment in one process: the receiver gets one copy, and both queue messages end.
/// </summary>
/// <remarks>
/// The MX holds the first transaction's reply after the body. The test lets it go once the second queue message
/// either waits for the first (the handler's log says so) or has itself been delivered (what happened before the
/// claim): either way without timing.
/// </remarks>
public sealed class SameEnvelopeAtOnceTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TwoQueueMessages_HandledAtOnce_FirstDelivers_ReceiverStoresOneExactCopy_BothEnd(bool bodyInBlob)
    {
        var logs = new ListLoggerProvider();
        await using var host = await StartAsync(logs);
        host.AddDomain("once.test", "mx.once.test", "127.0.0.76");
        var mx = host.AddSmtpServer("127.0.0.76", host.Ca.IssueServer(["mx.once.test"]));
        var release = new TaskCompletionSource<(int Code, string Text)>(TaskCreationOptions.RunContinuationsAsynchronously);
        mx.EndOfDataHolds.Enqueue(release.Task);
        var queued = bodyInBlob ? Large("o@once.test") : RelaySamples.Build("eightbit", Sender, "o@once.test");
        var id = await host.SendAsync(Sender, ["o@once.test"], queued);
        Assert.Equal(bodyInBlob, EnvelopeSerializer.Parse(await QueuedPayloadAsync(host)).MessageBlob is not null);
        var both = await QueueTwiceAndTakeBothAsync(host);

        var runs = both.Select(m => HandleLikeTheListenerAsync(host, m)).ToList();
        await WaitUntilSecondWaitsOrWasDeliveredAsync(host, logs, mx, id, "o@once.test");
        release.SetResult((250, "2.0.0 stored"));
        await Task.WhenAll(runs);

        var received = Assert.Single(host.Inbox);
        Assert.Equal(["o@once.test"], received.To);
        Assert.Equal(RelaySamples.Crlf(queued)[..^2], RelaySamples.AfterOwnReceived(received.Data, id));
        Assert.Equal(nameof(DeliveryState.Delivered), (await host.StatusAsync(id))["o@once.test"].State);
        await AssertQueuesEmptyAsync(host);
    }

    /// <summary>
    /// The first queue message's transaction ends 451 after the body: the recipient is deferred and a retry queued.
    /// The second then sends it (it is still owed) and the MX stores one copy; the retry finds it delivered.
    /// </summary>
    [Fact]
    public async Task TwoQueueMessages_HandledAtOnce_FirstDeferred_SecondDeliversOnce_RetrySendsNothing()
    {
        var logs = new ListLoggerProvider();
        await using var host = await StartAsync(logs);
        host.AddDomain("later.test", "mx.later.test", "127.0.0.77");
        var mx = host.AddSmtpServer("127.0.0.77", host.Ca.IssueServer(["mx.later.test"]));
        var release = new TaskCompletionSource<(int Code, string Text)>(TaskCreationOptions.RunContinuationsAsynchronously);
        mx.EndOfDataHolds.Enqueue(release.Task);
        var queued = RelaySamples.Build("eightbit", Sender, "l@later.test");
        var id = await host.SendAsync(Sender, ["l@later.test"], queued);
        var both = await QueueTwiceAndTakeBothAsync(host);

        var runs = both.Select(m => HandleLikeTheListenerAsync(host, m)).ToList();
        await WaitUntilSecondWaitsOrWasDeliveredAsync(host, logs, mx, id, "l@later.test");
        release.SetResult((451, "4.3.0 try again later"));
        await Task.WhenAll(runs);

        // The first queue message's retry (the schedule says 1 s here) comes back and must send nothing.
        var retries = await host.PumpAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, retries);
        var received = Assert.Single(host.Inbox);
        Assert.Equal(["l@later.test"], received.To);
        Assert.Equal(RelaySamples.Crlf(queued)[..^2], RelaySamples.AfterOwnReceived(received.Data, id));
        Assert.Equal(2, mx.EndOfDataCount);
        var row = (await host.StatusAsync(id))["l@later.test"];
        Assert.Equal(nameof(DeliveryState.Delivered), row.State);
        await AssertQueuesEmptyAsync(host);
    }

    /// <summary>
    /// The same with the real queue listener (LocalHost, one batch of 32): both copies are queued before the host
    /// starts, so it takes them together; the receiver stores one copy and the listener completes both.
    /// </summary>
    [Fact]
    public async Task TwoQueueMessages_RealListener_OneBatch_ReceiverStoresOneExactCopy_BothCompleted()
    {
        await using var peers = await MtaTestHost.StartAsync(storage);
        peers.AddDomain("batch.test", "mx.batch.test", "127.0.0.78");
        var mx = peers.AddSmtpServer("127.0.0.78", peers.Ca.IssueServer(["mx.batch.test"]));
        var release = new TaskCompletionSource<(int Code, string Text)>(TaskCreationOptions.RunContinuationsAsynchronously);
        mx.EndOfDataHolds.Enqueue(release.Task);
        var queued = RelaySamples.Build("eightbit", Sender, "b@batch.test");
        var id = await peers.SendAsync(Sender, ["b@batch.test"], queued);
        await peers.OutboundQueue.SendMessageAsync(await QueuedPayloadAsync(peers));
        Assert.Equal(2, (await peers.OutboundQueue.PeekMessagesAsync(32)).Value.Length);

        using (var host = KillableLocalHost.Start(peers.LocalHostSettings()))
        {
            await WaitAsync(host, async () => mx.EndOfDataCount >= 1
                && (host.Output.Contains($"{id}: another queue message of this envelope", StringComparison.Ordinal)
                    || ((await peers.StatusAsync(id)).TryGetValue("b@batch.test", out var row) && row.State == nameof(DeliveryState.Delivered))));
            release.SetResult((250, "2.0.0 stored"));

            // Both queue messages completed by the listener (deleted: none left, hidden or visible), none poisoned.
            await WaitAsync(host, async () => (await peers.OutboundQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount == 0);
        }

        var received = Assert.Single(peers.Inbox);
        Assert.Equal(["b@batch.test"], received.To);
        Assert.Equal(RelaySamples.Crlf(queued)[..^2], RelaySamples.AfterOwnReceived(received.Data, id));
        Assert.Equal(nameof(DeliveryState.Delivered), (await peers.StatusAsync(id))["b@batch.test"].State);
        await AssertQueuesEmptyAsync(peers);
    }

    private static async Task WaitAsync(KillableLocalHost host, Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!await condition())
        {
            Assert.False(host.HasExited, $"LocalHost exited:\n{host.Output}");
            Assert.True(DateTime.UtcNow < deadline, $"timed out; LocalHost output:\n{host.Output}");
            await Task.Delay(50);
        }
    }

    private Task<MtaTestHost> StartAsync(ListLoggerProvider logs) =>
        MtaTestHost.StartAsync(storage, s => s.AddLogging(l => l.AddProvider(logs).AddFilter<ListLoggerProvider>(null, LogLevel.Information)));

    // A body over the inline limit: the producer stores it as a blob, which the first queue message deletes once
    // its recipient is final.
    private static byte[] Large(string to) =>
        MtaTestHost.Message(Sender, to, "large", body: string.Concat(Enumerable.Repeat(new string('b', 76) + "\r\n", 800)));

    private static async Task<string> QueuedPayloadAsync(MtaTestHost host) =>
        Assert.Single((await host.OutboundQueue.PeekMessagesAsync(32)).Value).Body.ToString();

    // The producer's enqueue, retried: the same queue text once more, next to the first.
    private static async Task<List<QueueMessage>> QueueTwiceAndTakeBothAsync(MtaTestHost host)
    {
        await host.OutboundQueue.SendMessageAsync(await QueuedPayloadAsync(host));
        var taken = new List<QueueMessage>();
        while (taken.Count < 2)
        {
            taken.AddRange((await RawQueue(host).ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5))).Value);
        }

        Assert.Equal(2, taken.Count);
        Assert.Equal(taken[0].Body.ToString(), taken[1].Body.ToString());
        return taken;
    }

    // What the queue listener does with a message: the handler, then delete it when the handler returns.
    private static async Task HandleLikeTheListenerAsync(MtaTestHost host, QueueMessage message)
    {
        await Task.Yield();
        await host.Handler.HandleQueueMessageAsync(message, CancellationToken.None);
        await RawQueue(host).DeleteMessageAsync(message.MessageId, message.PopReceipt);
    }

    // The queue as the listener reads it (host.json messageEncoding none): the handler gets the base64 text.
    private static Azure.Storage.Queues.QueueClient RawQueue(MtaTestHost host) => new(host.Storage.ConnectionString, StorageNames.OutboundQueue);

    // One transaction is held at the MX; the other queue message has either said it waits for the first, or has been
    // delivered beside it (its row written): in both cases what it does next no longer depends on when the hold ends.
    private static async Task WaitUntilSecondWaitsOrWasDeliveredAsync(MtaTestHost host, ListLoggerProvider logs, TestSmtpServer mx, string id, string recipient)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (mx.EndOfDataCount >= 1)
            {
                if (logs.Entries.Any(e => e.EventId.Name == "WaitingForOtherCopy" && e.Message.StartsWith(id, StringComparison.Ordinal)))
                {
                    return;
                }

                if ((await host.StatusAsync(id)).TryGetValue(recipient, out var row) && row.State == nameof(DeliveryState.Delivered))
                {
                    return;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"neither queue message reached the MX, or the second neither waited nor was delivered; logs:\n{string.Join('\n', logs.Entries.Select(e => e.Message))}");
            await Task.Delay(50);
        }
    }

    private static async Task AssertQueuesEmptyAsync(MtaTestHost host)
    {
        Assert.Empty(await host.PoisonedAsync());
        Assert.Empty((await host.OutboundQueue.PeekMessagesAsync(32)).Value);
        Assert.Equal(0, (await host.OutboundQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }
}
