using System.Text;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Client;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Operations;
using MtaFunctions.Core.Storage;
using MtaFunctions.Tests.Infrastructure;
using MtaFunctions.Tests.Smtp;

namespace MtaFunctions.Tests.Delivery;

/// <summary>
/// Several envelopes in one outbound queue message (a batch, a JSON array): the producer's group commit, and the
/// delivery taking each envelope on its own. Real Azurite, real TLS test servers; what the receivers stored is
/// compared with what was queued, byte for byte.
/// </summary>
public sealed class BatchedEnvelopesTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";
    private static readonly CancellationToken Ct = CancellationToken.None;

    /// <summary>
    /// Sends that come while the writer's two queue messages are on their way go together in the next one; a send
    /// alone stays a single envelope. Every envelope is queued once and delivered once, exactly as queued.
    /// </summary>
    [Fact]
    public async Task ConcurrentSends_ShareOneQueueMessage_EachDeliveredOnceExactly()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("many.test", "mx.many.test", "127.0.0.101");
        host.AddSmtpServer("127.0.0.101", host.Ca.IssueServer(["mx.many.test"]));
        var hold = new HoldQueueSends();
        var client = ClientWith(hold);
        var queued = new Dictionary<string, byte[]>();

        var alone = RelaySamples.Build("eightbit", Sender, "alone@many.test");
        queued["alone@many.test"] = alone;
        var aloneId = await client.SendAsync(new MemoryStream(alone), Sender, ["alone@many.test"]);
        Assert.False(EnvelopeSerializer.IsBatch(Assert.Single(await PayloadsAsync(host))));

        // Two sends go at once and are held on their way; the other 22 wait for one of them to end.
        hold.Armed = true;
        var sends = Enumerable.Range(0, 24).Select(i =>
        {
            var message = RelaySamples.Build("eightbit", Sender, $"r{i}@many.test");
            queued[$"r{i}@many.test"] = message;
            return client.SendAsync(new MemoryStream(message), Sender, [$"r{i}@many.test"]);
        }).ToList();
        await hold.WaitForHeldAsync(OutboundQueueWriter.ConcurrentSends);
        hold.Release();
        var ids = await Task.WhenAll(sends);

        var payloads = await PayloadsAsync(host);
        Assert.Equal(4, payloads.Count);
        Assert.Equal([1, 1, 1, 22], payloads.Select(p => EnvelopeSerializer.ParsePayload(p).Count).Order());
        Assert.Equal(ids.Append(aloneId).Order(), payloads.SelectMany(EnvelopeSerializer.ValidEnvelopes).Select(e => e.Id).Order());

        Assert.Equal(4, await host.PumpAsync());

        Assert.Equal(25, host.Inbox.Count);
        foreach (var received in host.Inbox)
        {
            var recipient = Assert.Single(received.To);
            var id = recipient == "alone@many.test" ? aloneId : ids[int.Parse(recipient[1..recipient.IndexOf('@', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture)];
            Assert.Equal(RelaySamples.Crlf(queued[recipient])[..^2], RelaySamples.AfterOwnReceived(received.Data, id));
            Assert.Equal(nameof(DeliveryState.Delivered), (await host.StatusAsync(id))[recipient].State);
        }

        await AssertQueuesEmptyAsync(host);
    }

    /// <summary>
    /// A queue message holds as many envelopes as its 48 KiB allow (here two of about 19 KiB each); an envelope whose
    /// body is a blob always goes alone.
    /// </summary>
    [Fact]
    public async Task ConcurrentLargeSends_PackedBySize_BlobBodyAlone_AllDelivered()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("big.test", "mx.big.test", "127.0.0.102");
        host.AddSmtpServer("127.0.0.102", host.Ca.IssueServer(["mx.big.test"]));
        var hold = new HoldQueueSends { Armed = true };
        var client = ClientWith(hold);
        var queued = new Dictionary<string, byte[]>();
        var recipients = new List<string>();
        Task<string> Send(string recipient, int bodyLines)
        {
            var message = MtaTestHost.Message(Sender, recipient, "big", body: string.Concat(Enumerable.Repeat(new string('b', 70) + "\r\n", bodyLines)));
            queued[recipient] = message;
            recipients.Add(recipient);
            return client.SendAsync(new MemoryStream(message), Sender, [recipient]);
        }

        var sends = new List<Task<string>> { Send("first@big.test", 1), Send("second@big.test", 1) };
        sends.AddRange(Enumerable.Range(0, 6).Select(i => Send($"pair{i}@big.test", 190)));
        sends.Add(Send("blob@big.test", 900));
        await hold.WaitForHeldAsync(OutboundQueueWriter.ConcurrentSends + 1);
        hold.Release();
        var ids = await Task.WhenAll(sends);

        var payloads = await PayloadsAsync(host);
        Assert.All(payloads, p => Assert.InRange(Encoding.UTF8.GetByteCount(p), 1, EnvelopeLimits.MaxQueuePayloadBytes));
        var envelopes = payloads.Select(p => EnvelopeSerializer.ParsePayload(p).Select(e => e.Envelope!).ToList()).ToList();
        Assert.Equal(6, envelopes.Count);
        Assert.Equal([1, 1, 1, 2, 2, 2], envelopes.Select(e => e.Count).Order());
        var blob = Assert.Single(envelopes, e => e.Any(x => x.MessageBlob is not null));
        Assert.Equal(["blob@big.test"], Assert.Single(blob).To);
        Assert.False(EnvelopeSerializer.IsBatch(payloads[envelopes.IndexOf(blob)]));

        await host.PumpAsync();

        Assert.Equal(9, host.Inbox.Count);
        foreach (var received in host.Inbox)
        {
            var recipient = Assert.Single(received.To);
            var id = ids[recipients.IndexOf(recipient)];
            Assert.Equal(RelaySamples.Crlf(queued[recipient])[..^2], RelaySamples.AfterOwnReceived(received.Data, id));
        }

        await AssertQueuesEmptyAsync(host);
    }

    /// <summary>
    /// One batch: an envelope delivered, one deferred by a 451 after its body, one that is not valid, one more
    /// delivered. Each ends on its own: the bad one alone is poisoned (its own JSON, the reason naming its place), the
    /// deferred one alone goes back on the queue as a single envelope, and its retry delivers it.
    /// </summary>
    [Fact]
    public async Task Batch_DeliveredDeferredAndBad_EachEndsOnItsOwn()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("ok.test", "mx.ok.test", "127.0.0.103");
        host.AddDomain("later.test", "mx.later.test", "127.0.0.104");
        host.AddSmtpServer("127.0.0.103", host.Ca.IssueServer(["mx.ok.test"]));
        var later = host.AddSmtpServer("127.0.0.104", host.Ca.IssueServer(["mx.later.test"]));
        later.EndOfDataReplies.Enqueue((451, "4.3.0 try again later"));
        var first = Envelope("batch-first", "a@ok.test");
        var deferred = Envelope("batch-deferred", "b@later.test");
        var bad = EnvelopeSerializer.ToJson(Envelope("batch-bad", "c@ok.test")).Replace("c@ok.test", "no-at-sign", StringComparison.Ordinal);
        var last = Envelope("batch-last", "d@ok.test");
        var batch = $"[{EnvelopeSerializer.ToJson(first)},{EnvelopeSerializer.ToJson(deferred)},{bad},{EnvelopeSerializer.ToJson(last)}]";

        await host.Handler.HandleAsync(batch, 1, Ct);

        Assert.Equal(["a@ok.test", "d@ok.test"], host.Inbox.Select(m => Assert.Single(m.To)).Order());
        foreach (var (envelope, received) in new[] { first, last }.Select(e => (e, host.Inbox.Single(m => m.To[0] == e.To[0]))))
        {
            Assert.Equal(RelaySamples.Crlf(EnvelopeSerializer.DecodeInline(envelope))[..^2], RelaySamples.AfterOwnReceived(received.Data, envelope.Id));
        }

        var poisoned = Assert.Single(await host.PoisonedAsync());
        Assert.Equal(bad, poisoned.Payload);
        Assert.StartsWith("outbound envelope: [2].to[0]: ", poisoned.Reason);
        Assert.Equal(nameof(DeliveryState.Deferred), (await host.StatusAsync("batch-deferred"))["b@later.test"].State);
        var retry = Assert.Single(await PayloadsAsync(host, includeHidden: true));
        Assert.False(EnvelopeSerializer.IsBatch(retry));
        Assert.Equal(deferred with { Attempt = 1 }, EnvelopeSerializer.Parse(retry) with { To = deferred.To });
        Assert.Equal(deferred.To, EnvelopeSerializer.Parse(retry).To);

        Assert.Equal(1, await host.PumpAsync(TimeSpan.FromSeconds(30)));

        var received2 = Assert.Single(host.Inbox, m => m.To[0] == "b@later.test");
        Assert.Equal(RelaySamples.Crlf(EnvelopeSerializer.DecodeInline(deferred))[..^2], RelaySamples.AfterOwnReceived(received2.Data, deferred.Id));
        Assert.Equal(3, host.Inbox.Count);
        Assert.Equal(2, later.EndOfDataCount);
        Assert.Equal(nameof(DeliveryState.Delivered), (await host.StatusAsync("batch-deferred"))["b@later.test"].State);
    }

    /// <summary>
    /// A batch of envelopes whose bodies are blobs (another producer's; ours sends those alone): one body at a time,
    /// so one queue message never holds several large bodies in memory. While the first is held at the MX after its
    /// body, no other body has been read; then all three are delivered, exactly as queued.
    /// </summary>
    [Fact]
    public async Task Batch_OfBlobBodies_OneBodyAtATime_AllDeliveredExactly()
    {
        var reads = new CountBlobReads();
        await using var host = await MtaTestHost.StartAsync(storage, s => s.AddSingleton(StorageAccount.FromConnectionString(storage.ConnectionString, reads)));
        host.AddDomain("ok.test", "mx.ok.test", "127.0.0.103");
        var mx = host.AddSmtpServer("127.0.0.103", host.Ca.IssueServer(["mx.ok.test"]));
        var release = new TaskCompletionSource<(int Code, string Text)>(TaskCreationOptions.RunContinuationsAsynchronously);
        mx.EndOfDataHolds.Enqueue(release.Task);
        var container = host.Storage.Blobs.GetBlobContainerClient(StorageNames.MessageContainer);
        var envelopes = new List<OutboundEnvelope>();
        var bodies = new Dictionary<string, byte[]>();
        for (var i = 0; i < 3; i++)
        {
            var to = $"blob{i}@ok.test";
            bodies[to] = RelaySamples.Build("attachment", Sender, to);
            await container.GetBlobClient($"one-at-a-time-{i}.eml").UploadAsync(BinaryData.FromBytes(bodies[to]), overwrite: true);
            envelopes.Add(Envelope($"one-at-a-time-{i}", to) with { Message = null, MessageBlob = $"one-at-a-time-{i}.eml" });
        }

        var handling = host.Handler.HandleAsync($"[{string.Join(',', envelopes.Select(EnvelopeSerializer.ToJson))}]", 1, Ct);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (mx.EndOfDataCount < 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "the first envelope never reached the end of its data");
            await Task.Delay(20);
        }

        // Time for the others to start if they could (they did at once before: every body read within milliseconds).
        await Task.Delay(500);
        Assert.Equal(1, reads.Count);
        release.SetResult((250, "2.0.0 stored"));
        await handling;

        Assert.Equal(3, reads.Count);
        Assert.Equal(3, host.Inbox.Count);
        foreach (var envelope in envelopes)
        {
            var received = Assert.Single(host.Inbox, m => m.To[0] == envelope.To[0]);
            Assert.Equal(RelaySamples.Crlf(bodies[envelope.To[0]])[..^2], RelaySamples.AfterOwnReceived(received.Data, envelope.Id));
        }
    }

    /// <summary>
    /// A batch whose three envelopes are refused at RCPT (550): each is bounced, and the three DSNs, queued by the
    /// delivery at about the same moment (they may share a queue message), each reach the sender once.
    /// </summary>
    [Fact]
    public async Task Batch_EachEnvelopeRefusedAtRcpt_EachBouncedOnce()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("gone.test", "mx.gone.test", "127.0.0.103");
        host.AddDomain("sender.test", "mx.sender.test", "127.0.0.104");
        var gone = host.AddSmtpServer("127.0.0.103", host.Ca.IssueServer(["mx.gone.test"]));
        var sender = host.AddSmtpServer("127.0.0.104", host.Ca.IssueServer(["mx.sender.test"]));
        var envelopes = Enumerable.Range(0, 3).Select(i => Envelope($"refused-{i}", $"x{i}@gone.test")).ToList();
        foreach (var envelope in envelopes)
        {
            gone.RecipientReplies[envelope.To[0]] = (550, "5.1.1 no such user");
        }

        await host.Handler.HandleAsync($"[{string.Join(',', envelopes.Select(EnvelopeSerializer.ToJson))}]", 1, Ct);

        foreach (var envelope in envelopes)
        {
            Assert.Equal(nameof(DeliveryState.Bounced), (await host.StatusAsync(envelope.Id))[envelope.To[0]].State);
        }

        Assert.Empty(host.Inbox);
        await host.PumpAsync();

        Assert.Equal(3, host.Inbox.Count);
        Assert.All(host.Inbox, m => Assert.Equal([Sender], m.To));
        Assert.Equal(3, sender.EndOfDataCount);
        var reports = host.Inbox.Select(m => MtaTestHost.Parse(m.Data)).ToList();
        Assert.Equal(envelopes.Select(e => e.To[0]).Order(), reports.Select(r => envelopes.Single(e => r.TextBody?.Contains(e.To[0], StringComparison.Ordinal) == true).To[0]).Order());
        await AssertQueuesEmptyAsync(host);
    }

    /// <summary>
    /// One envelope of a batch fails (storage refuses its body): the others are delivered and the queue message is
    /// handed back. Taken again, only the envelope still owed is sent.
    /// </summary>
    [Fact]
    public async Task Batch_OneEnvelopeFails_OthersDelivered_TakenAgain_OnlyTheOwedOneSent()
    {
        var refuse = new RefuseBlobReads("owed.eml");
        await using var host = await MtaTestHost.StartAsync(storage, s => s.AddSingleton(StorageAccount.FromConnectionString(storage.ConnectionString, refuse)));
        host.AddDomain("ok.test", "mx.ok.test", "127.0.0.103");
        var mx = host.AddSmtpServer("127.0.0.103", host.Ca.IssueServer(["mx.ok.test"]));
        var (batch, done, owed) = await BatchWithBlobBodyAsync(host, "fail-done", "fail-owed");

        var failure = await Assert.ThrowsAsync<RequestFailedException>(() => host.Handler.HandleAsync(batch, 1, Ct));
        Assert.Equal(500, failure.Status);
        var first = Assert.Single(host.Inbox);
        Assert.Equal(done.To, first.To);
        Assert.Equal(nameof(DeliveryState.Delivered), (await host.StatusAsync(done.Id))[done.To[0]].State);
        Assert.Empty(await host.StatusAsync(owed.Id));

        refuse.Armed = false;
        await host.Handler.HandleAsync(batch, 2, Ct);

        Assert.Equal(2, host.Inbox.Count);
        Assert.Equal(2, mx.EndOfDataCount);
        Assert.Single(host.Inbox, m => m.To[0] == done.To[0]);
        var second = Assert.Single(host.Inbox, m => m.To[0] == owed.To[0]);
        Assert.Equal(RelaySamples.Crlf(OwedBody)[..^2], RelaySamples.AfterOwnReceived(second.Data, owed.Id));
        Assert.Empty(await host.PoisonedAsync());
    }

    /// <summary>
    /// A batch handed out more often than the limit: the envelope already delivered ends quietly, only the one never
    /// delivered is poisoned, alone and with its own JSON, so that an operator can requeue just it.
    /// </summary>
    [Fact]
    public async Task Batch_TakenTooOften_OnlyTheEnvelopeNotFinalPoisoned_Alone_Requeueable()
    {
        var refuse = new RefuseBlobReads("owed.eml");
        await using var host = await MtaTestHost.StartAsync(storage, s => s.AddSingleton(StorageAccount.FromConnectionString(storage.ConnectionString, refuse)));
        host.AddDomain("ok.test", "mx.ok.test", "127.0.0.103");
        host.AddSmtpServer("127.0.0.103", host.Ca.IssueServer(["mx.ok.test"]));
        var (batch, done, owed) = await BatchWithBlobBodyAsync(host, "often-done", "often-owed");
        await Assert.ThrowsAsync<RequestFailedException>(() => host.Handler.HandleAsync(batch, 1, Ct));

        await host.Handler.HandleAsync(batch, QueueLimits.MaxDequeueCount + 1, Ct);

        var poisoned = Assert.Single(await host.PoisonedAsync());
        Assert.Equal(EnvelopeSerializer.ToJson(owed), poisoned.Payload);
        Assert.Contains($"taken {QueueLimits.MaxDequeueCount + 1} times", poisoned.Reason, StringComparison.Ordinal);
        Assert.Equal(nameof(DeliveryState.Failed), (await host.StatusAsync(owed.Id))[owed.To[0]].State);
        Assert.Equal(nameof(DeliveryState.Delivered), (await host.StatusAsync(done.Id))[done.To[0]].State);
        Assert.Single(host.Inbox);

        refuse.Armed = false;
        var poison = host.Services.GetRequiredService<PoisonQueue>();
        Assert.NotNull(await poison.RequeueAsync(owed.Id, host.OutboundQueue, Ct));
        Assert.Equal(1, await host.PumpAsync());

        Assert.Equal(2, host.Inbox.Count);
        Assert.Equal(nameof(DeliveryState.Delivered), (await host.StatusAsync(owed.Id))[owed.To[0]].State);
        await AssertQueuesEmptyAsync(host);
    }

    /// <summary>The operator's views read every envelope of a batch: queue list and show, the summary's oldest message.</summary>
    [Fact]
    public async Task QueueViews_ListEachEnvelopeOfABatch()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        var older = Envelope("view-older", "a@one.test") with { QueuedAt = DateTimeOffset.UtcNow.AddMinutes(-30) };
        var newer = Envelope("view-newer", "b@two.test");
        await host.OutboundQueue.SendMessageAsync($"[{EnvelopeSerializer.ToJson(newer)},{EnvelopeSerializer.ToJson(older)},{{\"id\":\"bad one\"}}]");
        var account = StorageAccount.FromConnectionString(storage.ConnectionString);
        var control = new QueueControl(account, TimeProvider.System);

        var listed = await control.ListAsync(Ct);

        Assert.Equal(["view-newer", "view-older"], listed.Select(e => e.MessageId).Order());
        Assert.Equal("one.test", listed.Single(e => e.MessageId == "view-older").Domain);
        Assert.Equal("view-older", Assert.Single((await control.ShowAsync("view-older", Ct)).Queued).MessageId);
        var summary = await new OutboundSummaryReader(account, TimeProvider.System).ReadAsync(1, Ct);
        Assert.Equal(older.QueuedAt.ToUnixTimeSeconds(), summary.Queue.OldestQueuedAt!.Value.ToUnixTimeSeconds());
    }

    /// <summary>
    /// A batch the queue listener itself moved to the poison queue (the raw array): requeued whole when every
    /// envelope of it is valid, refused (and kept) when one is not.
    /// </summary>
    [Fact]
    public async Task PoisonRequeue_RawBatch_WholeWhenValid_KeptWhenAnEnvelopeIsBad()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        var good = $"[{EnvelopeSerializer.ToJson(Envelope("raw-1", "a@one.test"))},{EnvelopeSerializer.ToJson(Envelope("raw-2", "b@one.test"))}]";
        var bad = $"[{EnvelopeSerializer.ToJson(Envelope("raw-3", "a@one.test"))},{{\"id\":\"raw-4\"}}]";
        var goodId = (await host.PoisonQueue.SendMessageAsync(good)).Value.MessageId;
        var badId = (await host.PoisonQueue.SendMessageAsync(bad)).Value.MessageId;
        var poison = host.Services.GetRequiredService<PoisonQueue>();

        Assert.NotNull(await poison.RequeueAsync(goodId, host.OutboundQueue, Ct));
        var refused = await Assert.ThrowsAsync<EnvelopeFormatException>(() => poison.RequeueAsync(badId, host.OutboundQueue, Ct));

        Assert.Equal("[1]", refused.Field);
        Assert.StartsWith("outbound envelope: [1]: not valid envelope JSON", refused.Message);
        Assert.Equal([good], await PayloadsAsync(host));
        Assert.Equal(badId, Assert.Single(await poison.ListAsync(Ct)).QueueMessageId);
    }

    /// <summary>
    /// The real queue listener (LocalHost) with a producer's concurrent sends: the batch is taken as one queue
    /// message and completed once every envelope of it is delivered.
    /// </summary>
    [Fact]
    public async Task RealListener_ConcurrentSends_Batched_EachDeliveredOnceExactly()
    {
        await using var peers = await MtaTestHost.StartAsync(storage);
        peers.AddDomain("listener.test", "mx.listener.test", "127.0.0.101");
        peers.AddSmtpServer("127.0.0.101", peers.Ca.IssueServer(["mx.listener.test"]));
        var hold = new HoldQueueSends { Armed = true };
        var client = ClientWith(hold);
        var queued = Enumerable.Range(0, 20).Select(i => RelaySamples.Build("eightbit", Sender, $"l{i}@listener.test")).ToList();
        var sends = queued.Select((message, i) => client.SendAsync(new MemoryStream(message), Sender, [$"l{i}@listener.test"])).ToList();
        await hold.WaitForHeldAsync(OutboundQueueWriter.ConcurrentSends);
        hold.Release();
        var ids = await Task.WhenAll(sends);
        Assert.Contains(await PayloadsAsync(peers), EnvelopeSerializer.IsBatch);

        using (var host = KillableLocalHost.Start(peers.LocalHostSettings()))
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            while (peers.Inbox.Count < 20 || (await peers.OutboundQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount > 0)
            {
                Assert.False(host.HasExited, $"LocalHost exited:\n{host.Output}");
                Assert.True(DateTime.UtcNow < deadline, $"timed out with {peers.Inbox.Count} of 20 delivered; LocalHost output:\n{host.Output}");
                await Task.Delay(50);
            }
        }

        Assert.Equal(20, peers.Inbox.Count);
        for (var i = 0; i < 20; i++)
        {
            var received = Assert.Single(peers.Inbox, m => m.To[0] == $"l{i}@listener.test");
            Assert.Equal(RelaySamples.Crlf(queued[i])[..^2], RelaySamples.AfterOwnReceived(received.Data, ids[i]));
        }

        await AssertQueuesEmptyAsync(peers);
    }

    private static readonly byte[] OwedBody = RelaySamples.Build("eightbit", Sender, "owed@ok.test");

    // A batch as another producer might write it: one envelope inline, one whose body is the blob "owed.eml".
    private static async Task<(string Batch, OutboundEnvelope Done, OutboundEnvelope Owed)> BatchWithBlobBodyAsync(MtaTestHost host, string doneId, string owedId)
    {
        await host.Storage.Blobs.GetBlobContainerClient(StorageNames.MessageContainer).GetBlobClient("owed.eml")
            .UploadAsync(BinaryData.FromBytes(OwedBody), overwrite: true);
        var done = Envelope(doneId, "done@ok.test");
        var owed = Envelope(owedId, "owed@ok.test") with { Message = null, MessageBlob = "owed.eml" };
        return ($"[{EnvelopeSerializer.ToJson(done)},{EnvelopeSerializer.ToJson(owed)}]", done, owed);
    }

    private static OutboundEnvelope Envelope(string id, string to) => new()
    {
        Id = id,
        From = Sender,
        To = [to],
        Message = Convert.ToBase64String(RelaySamples.Build("eightbit", Sender, to)),
        QueuedAt = DateTimeOffset.UtcNow,
        RecipientCount = 1,
    };

    private MtaClient ClientWith(HttpPipelinePolicy policy)
    {
        var options = OutboundQueueWriter.QueueOptions;
        options.AddPolicy(policy, HttpPipelinePosition.PerCall);
        return new MtaClient(
            new QueueServiceClient(storage.ConnectionString, options), new BlobServiceClient(storage.ConnectionString), new TableServiceClient(storage.ConnectionString));
    }

    // Every queue message's text (base64-decoded), visible ones; with includeHidden, delayed retries too (received and
    // put back as they were).
    private static async Task<List<string>> PayloadsAsync(MtaTestHost host, bool includeHidden = false)
    {
        if (!includeHidden)
        {
            return [.. (await host.OutboundQueue.PeekMessagesAsync(32)).Value.Select(m => m.Body.ToString())];
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        var payloads = new List<string>();
        while (payloads.Count < (await host.OutboundQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount && DateTime.UtcNow < deadline)
        {
            foreach (var message in (await host.OutboundQueue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(1))).Value)
            {
                payloads.Add(message.Body.ToString());
            }

            await Task.Delay(100);
        }

        return payloads;
    }

    private static async Task AssertQueuesEmptyAsync(MtaTestHost host)
    {
        Assert.Empty(await host.PoisonedAsync());
        Assert.Equal(0, (await host.OutboundQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    /// <summary>While armed, holds every queue message send (POST .../messages) until released.</summary>
    private sealed class HoldQueueSends : HttpPipelinePolicy
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _held;

        public bool Armed { get; set; }

        public void Release() => _released.TrySetResult();

        public async Task WaitForHeldAsync(int count)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (Volatile.Read(ref _held) < count)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{_held} of {count} queue sends held");
                await Task.Delay(10);
            }
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            throw new NotSupportedException("the client sends asynchronously");

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (Armed && message.Request.Method == RequestMethod.Post && message.Request.Uri.Path.EndsWith("/messages", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _held);
                await _released.Task;
            }

            await ProcessNextAsync(message, pipeline);
        }
    }

    /// <summary>Counts the reads of message bodies (blobs of the message container).</summary>
    private sealed class CountBlobReads : HttpPipelineSynchronousPolicy
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public override void OnSendingRequest(HttpMessage message)
        {
            if (message.Request.Method == RequestMethod.Get && message.Request.Uri.Path.Contains($"/{StorageNames.MessageContainer}/", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _count);
            }
        }
    }

    /// <summary>While armed, a read of the named blob fails as a storage outage would.</summary>
    private sealed class RefuseBlobReads(string blobName) : HttpPipelineSynchronousPolicy
    {
        public bool Armed { get; set; } = true;

        public override void OnSendingRequest(HttpMessage message)
        {
            if (Armed && message.Request.Method == RequestMethod.Get && message.Request.Uri.Path.EndsWith("/" + blobName, StringComparison.Ordinal))
            {
                throw new RequestFailedException(500, $"injected: storage refused {blobName}");
            }
        }
    }
}
