using System.Text;
using MtaFunctions.Client;
using MtaFunctions.Client.Contract;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Smtp;

/// <summary>Recipients per transaction, the server's own recipient limit (452), its SIZE, and our maximum message size.</summary>
public sealed class TransactionLimitTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    [Fact]
    public async Task Send_120Recipients_GoInTransactionsOf50_50_20()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("many.test", "mx.many.test", "127.0.0.81");
        var mx = host.AddSmtpServer("127.0.0.81", host.Ca.IssueServer(["mx.many.test"]));
        var recipients = Enumerable.Range(0, 120).Select(i => $"r{i:D3}@many.test").ToList();

        var id = await host.SendAsync(Sender, recipients, MtaTestHost.Message(Sender, "r000@many.test"));
        await host.PumpAsync(TimeSpan.Zero);

        Assert.Equal([50, 50, 20], mx.RecipientsPerTransaction);
        Assert.Equal(recipients, mx.Inbox.SelectMany(m => m.To).Order(StringComparer.Ordinal));
        Assert.All((await host.StatusAsync(id)).Values, row => Assert.Equal(nameof(DeliveryState.Delivered), row.State));
        Assert.Equal(1, mx.SessionCount);
    }

    /// <summary>
    /// A narrow window: the recipients of the first transaction are recorded delivered as soon as its 250 is read,
    /// before the next transaction of the same session starts (a crash during it does not send them again).
    /// </summary>
    [Fact]
    public async Task Send_TwoTransactions_FirstRecordedDeliveredBeforeSecondStarts()
    {
        await using var host = await MtaTestHost.StartAsync(storage, ("Queue:Outbound:Smtp:MaxRecipientsPerTransaction", "1"));
        host.AddDomain("pair.test", "mx.pair.test", "127.0.0.84");
        var mx = host.AddSmtpServer("127.0.0.84", host.Ca.IssueServer(["mx.pair.test"]));
        var first = new TaskCompletionSource<(int Code, string Text)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var second = new TaskCompletionSource<(int Code, string Text)>(TaskCreationOptions.RunContinuationsAsynchronously);
        mx.EndOfDataGate = first.Task;
        var id = await host.SendAsync(Sender, ["a@pair.test", "b@pair.test"], MtaTestHost.Message(Sender, "a@pair.test"));
        var pump = host.PumpAsync(TimeSpan.Zero);

        await WaitAsync(() => mx.EndOfDataCount == 1, pump);

        // The first transaction's reply has already been awaited on the first gate: the second one waits on its own.
        mx.EndOfDataGate = second.Task;
        first.SetResult((250, "ok"));
        await WaitAsync(() => mx.EndOfDataCount == 2, pump);

        // The second transaction holds its reply: the first recipient is on record already.
        var during = await host.StatusAsync(id);
        Assert.Equal(nameof(DeliveryState.Delivered), Assert.Contains("a@pair.test", during).State);
        Assert.DoesNotContain("b@pair.test", during);

        second.SetResult((250, "ok"));
        await pump;
        Assert.All((await host.StatusAsync(id)).Values, row => Assert.Equal(nameof(DeliveryState.Delivered), row.State));
        Assert.Equal([1, 1], mx.RecipientsPerTransaction);
        Assert.Equal(1, mx.SessionCount);
    }

    private static async Task WaitAsync(Func<bool> condition, Task running)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            if (running.IsCompleted)
            {
                await running;
            }

            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Send_Server452TooManyRecipients_RestGoInANewTransaction_NotDeferred()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("limited.test", "mx.limited.test", "127.0.0.82");
        var mx = host.AddSmtpServer("127.0.0.82", host.Ca.IssueServer(["mx.limited.test"]));
        mx.MaxRecipientsPerTransaction = 30;
        var recipients = Enumerable.Range(0, 70).Select(i => $"l{i:D2}@limited.test").ToList();

        var id = await host.SendAsync(Sender, recipients, MtaTestHost.Message(Sender, "l00@limited.test"));
        await host.PumpAsync(TimeSpan.Zero);

        // 50 sent: 30 taken, 20 got 452 -> next transaction with the 20 and the last 20 (40): 30 taken, 10 -> then 10.
        Assert.Equal([30, 30, 10], mx.RecipientsPerTransaction);
        var status = await host.StatusAsync(id);
        Assert.All(status.Values, row => Assert.Equal(nameof(DeliveryState.Delivered), row.State));
        Assert.All(status.Values, row => Assert.Equal(1, row.Attempts));
        Assert.Equal(70, mx.Inbox.SelectMany(m => m.To).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task Send_452ToEveryRecipient_IsADeferral()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("full.test", "mx.full.test", "127.0.0.83");
        var mx = host.AddSmtpServer("127.0.0.83", host.Ca.IssueServer(["mx.full.test"]));
        mx.MaxRecipientsPerTransaction = 0;

        var id = await host.SendAsync(Sender, ["a@full.test", "b@full.test"], MtaTestHost.Message(Sender, "a@full.test"));
        await host.PumpAsync(TimeSpan.Zero);

        var status = await host.StatusAsync(id);
        Assert.All(status.Values, row => Assert.Equal(nameof(DeliveryState.Deferred), row.State));
        Assert.All(status.Values, row => Assert.StartsWith("452", row.LastReply, StringComparison.Ordinal));
        Assert.Empty(mx.Inbox);
    }

    [Fact]
    public async Task Send_LargerThanServerSize_Bounces534WithoutSendingTheBody()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("small.test", "mx.small.test", "127.0.0.84");
        var mx = new TestSmtpServer(
            System.Net.IPAddress.Parse("127.0.0.84"), host.SmtpPort, host.Ca.IssueServer(["mx.small.test"]), new TestSmtpServerOptions(MaxMessageSize: 4096));
        await using var _ = mx;

        var id = await host.SendAsync(Sender, ["big@small.test"], MtaTestHost.Message(Sender, "big@small.test", body: new string('x', 70) + "\r\n" + string.Concat(Enumerable.Repeat(new string('y', 76) + "\r\n", 100))));
        await host.PumpAsync(TimeSpan.Zero);

        var row = (await host.StatusAsync(id))["big@small.test"];
        Assert.Equal(nameof(DeliveryState.Bounced), row.State);
        Assert.StartsWith("552 5.3.4 message size", row.LastReply, StringComparison.Ordinal);
        Assert.Empty(mx.Inbox);
        Assert.Equal(0, mx.RecipientAttempts.GetValueOrDefault("big@small.test"));
    }

    [Fact]
    public async Task Enqueue_LargerThanMaxMessageSize_RefusedWithTheLimitNamed()
    {
        var client = new MtaClient(storage.ConnectionString) { MaxMessageSize = 1024 };
        await client.EnsureCreatedAsync();
        var message = MtaTestHost.Message(Sender, "x@example.test", body: new string('z', 2000) + "\r\n");

        var e = await Assert.ThrowsAsync<EnvelopeFormatException>(() => client.SendAsync(new MemoryStream(message), Sender, ["x@example.test"]));

        Assert.Contains($"{message.Length} bytes is larger than the maximum message size 1024 (Queue:Outbound:MaxMessageSize)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deliver_QueuedPastMaxMessageSize_Bounces534WithoutConnecting()
    {
        await using var host = await MtaTestHost.StartAsync(storage, ("Queue:Outbound:MaxMessageSize", "2048"));
        host.AddDomain("any.test", "mx.any.test", "127.0.0.85");
        var mx = host.AddSmtpServer("127.0.0.85", host.Ca.IssueServer(["mx.any.test"]));
        var body = Encoding.ASCII.GetString(MtaTestHost.Message(Sender, "a@any.test")) + string.Concat(Enumerable.Repeat(new string('w', 100) + "\r\n", 30));

        var id = await host.SendAsync(Sender, ["a@any.test"], Encoding.ASCII.GetBytes(body));
        await host.PumpAsync(TimeSpan.Zero);

        var row = (await host.StatusAsync(id))["a@any.test"];
        Assert.Equal(nameof(DeliveryState.Bounced), row.State);
        Assert.StartsWith("552 5.3.4 message size", row.LastReply, StringComparison.Ordinal);
        Assert.Equal(0, mx.SessionCount);
    }
}
