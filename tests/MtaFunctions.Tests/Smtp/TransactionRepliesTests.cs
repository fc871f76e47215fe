using MtaFunctions.Client.Contract;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Smtp;

/// <summary>
/// Every reply decides (in-process receiver): a reply after the body concerns exactly the recipients
/// accepted at RCPT; only a 2xx to the end of data is delivery.
/// </summary>
public sealed class TransactionRepliesTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    [Fact]
    public async Task AfterBody451_SingleRecipient_DeferredThenRetriedAndDelivered()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("eod.test", "mx.eod.test", "127.0.0.41");
        var server = host.AddSmtpServer("127.0.0.41", host.Ca.IssueServer(["mx.eod.test"]));
        server.EndOfDataReplies.Enqueue((451, "4.3.0 Try again later"));

        var id = await host.SendAsync(Sender, ["gina@eod.test"], MtaTestHost.Message(Sender, "gina@eod.test"));
        await host.PumpAsync(TimeSpan.Zero);

        var first = (await host.StatusAsync(id))["gina@eod.test"];
        Assert.Equal(nameof(DeliveryState.Deferred), first.State);
        Assert.StartsWith("451 4.3.0 Try again later", first.LastReply);
        Assert.Empty(host.Inbox);

        await host.PumpAsync(TimeSpan.FromSeconds(10), () => !host.Inbox.IsEmpty);
        var second = (await host.StatusAsync(id))["gina@eod.test"];
        Assert.Equal(nameof(DeliveryState.Delivered), second.State);
        Assert.Equal(2, second.Attempts);
        Assert.Equal(2, server.EndOfDataCount);
        Assert.Single(host.Inbox);
    }

    [Fact]
    public async Task AfterBody554_Bounced_WithDsnToSender()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("eod5.test", "mx.eod5.test", "127.0.0.42");
        host.AddDomain("sender.test", "mx.sender.test", "127.0.0.43");
        var server = host.AddSmtpServer("127.0.0.42", host.Ca.IssueServer(["mx.eod5.test"]));
        host.AddSmtpServer("127.0.0.43", host.Ca.IssueServer(["mx.sender.test"]));
        server.EndOfDataReplies.Enqueue((554, "5.7.1 Message content rejected"));

        var id = await host.SendAsync(Sender, ["hal@eod5.test"], MtaTestHost.Message(Sender, "hal@eod5.test"));
        await host.PumpAsync(TimeSpan.FromSeconds(5), () => !host.Inbox.IsEmpty);

        var row = (await host.StatusAsync(id))["hal@eod5.test"];
        Assert.Equal(nameof(DeliveryState.Bounced), row.State);
        Assert.StartsWith("554 5.7.1 Message content rejected", row.LastReply);
        var dsn = Assert.Single(host.Inbox);
        Assert.Equal([Sender], dsn.To);
        Assert.Contains("5.7.1", System.Text.Encoding.ASCII.GetString(dsn.Data));
    }

    [Theory]
    [InlineData(451, nameof(DeliveryState.Deferred))]
    [InlineData(554, nameof(DeliveryState.Bounced))]
    public async Task AfterBodyError_MultiRecipient_ConcernsOnlyAcceptedRecipients(int code, string acceptedState)
    {
        await using var host = await MtaTestHost.StartAsync(storage, ("Queue:Outbound:Retry:Schedule", "1h"));
        host.AddDomain("multi.test", "mx.multi.test", "127.0.0.44");
        host.AddDomain("sender.test", "mx.sender.test", "127.0.0.45");
        var server = host.AddSmtpServer("127.0.0.44", host.Ca.IssueServer(["mx.multi.test"]));
        host.AddSmtpServer("127.0.0.45", host.Ca.IssueServer(["mx.sender.test"]));
        server.RecipientReplies["gone@multi.test"] = (550, "5.1.1 No such user");
        server.EndOfDataReplies.Enqueue((code, $"{code / 100}.3.0 after the body"));

        var id = await host.SendAsync(Sender, ["ivy@multi.test", "gone@multi.test", "jay@multi.test"], MtaTestHost.Message(Sender, "ivy@multi.test"));
        await host.PumpAsync(TimeSpan.Zero);

        var status = await host.StatusAsync(id);
        Assert.Equal(acceptedState, status["ivy@multi.test"].State);
        Assert.Equal(acceptedState, status["jay@multi.test"].State);
        Assert.StartsWith($"{code} {code / 100}.3.0 after the body", status["ivy@multi.test"].LastReply);
        Assert.Equal(nameof(DeliveryState.Bounced), status["gone@multi.test"].State);
        Assert.StartsWith("550 5.1.1", status["gone@multi.test"].LastReply);
        Assert.DoesNotContain(host.Inbox, m => m.To.Contains("ivy@multi.test"));
    }
}
