using System.Text;
using MtaFunctions.Client.Contract;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Smtp;

/// <summary>
/// Every reply decides, against a real Debian Postfix receiver: 451/554 at DATA and after the body, single
/// and multi-recipient, with PIPELINING offered and not.
/// </summary>
public sealed class PostfixReplyTests(AzuriteFixture storage, PostfixReceiver postfix)
    : IClassFixture<AzuriteFixture>, IClassFixture<PostfixReceiver>
{
    public static TheoryData<string, string, int, string> Replies()
    {
        var data = new TheoryData<string, string, int, string>();
        foreach (var listener in new[] { PostfixReceiver.Default, PostfixReceiver.NoPipelining })
        {
            data.Add(listener, "data451", 451, nameof(DeliveryState.Deferred));
            data.Add(listener, "data554", 554, nameof(DeliveryState.Bounced));
            data.Add(listener, "eod451", 451, nameof(DeliveryState.Deferred));
            data.Add(listener, "eod554", 554, nameof(DeliveryState.Bounced));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Replies))]
    public async Task ErrorAtDataOrAfterBody_DecidesEveryAcceptedRecipient(string listener, string senderLocal, int code, string state)
    {
        await using var host = await StartAsync(listener);
        var sender = $"{senderLocal}-{Guid.NewGuid():N}@sender.test";
        var to = new[] { $"one-{Guid.NewGuid():N}@dest.test", $"rcpt550-{Guid.NewGuid():N}@dest.test", $"two-{Guid.NewGuid():N}@dest.test" };

        var single = await host.SendAsync(sender, [to[0]], MtaTestHost.Message(sender, to[0]));
        var multi = await host.SendAsync(sender, to, MtaTestHost.Message(sender, to[0]));
        await host.PumpAsync(TimeSpan.Zero);

        var one = (await host.StatusAsync(single))[to[0]];
        Assert.Equal(state, one.State);
        Assert.StartsWith(code.ToString(System.Globalization.CultureInfo.InvariantCulture), one.LastReply);
        var status = await host.StatusAsync(multi);
        Assert.Equal(state, status[to[0]].State);
        Assert.Equal(state, status[to[2]].State);
        Assert.StartsWith(code.ToString(System.Globalization.CultureInfo.InvariantCulture), status[to[2]].LastReply);
        Assert.Equal(nameof(DeliveryState.Bounced), status[to[1]].State);
        Assert.StartsWith("550 5.1.1", status[to[1]].LastReply);

        // Nothing reached a destination mailbox. DSNs to the sender: one for the multi-recipient message (its
        // RCPT refusal, plus the 5xx if any), one for the single-recipient message after a 5xx.
        var dsns = code >= 500 ? 2 : 1;
        var stored = await postfix.WaitForAsync(dsns);
        Assert.DoesNotContain(stored, m => to.Contains(m.Recipient));
        Assert.Equal(dsns, stored.Count(m => m.Recipient == sender));
        Assert.All(stored, m => Assert.Contains("Content-Type: message/delivery-status", Encoding.ASCII.GetString(m.Data)));
    }

    [Theory]
    [InlineData(PostfixReceiver.Default)]
    [InlineData(PostfixReceiver.NoPipelining)]
    public async Task Accepted_Delivered_AndStoredOncePerRecipient(string listener)
    {
        await using var host = await StartAsync(listener);
        var sender = $"ok-{Guid.NewGuid():N}@sender.test";
        var to = new[] { $"a-{Guid.NewGuid():N}@dest.test", $"b-{Guid.NewGuid():N}@dest.test" };

        var id = await host.SendAsync(sender, to, MtaTestHost.Message(sender, to[0]));
        await host.PumpAsync(TimeSpan.Zero);

        var status = await host.StatusAsync(id);
        Assert.All(to, r => Assert.Equal(nameof(DeliveryState.Delivered), status[r].State));
        Assert.All(to, r => Assert.StartsWith("250", status[r].LastReply));
        var stored = await postfix.WaitForAsync(2);
        Assert.Equal(to.Order(), stored.Where(m => to.Contains(m.Recipient)).Select(m => m.Recipient).Order());
    }

    private async Task<MtaTestHost> StartAsync(string listener)
    {
        postfix.Clear();
        var host = await MtaTestHost.StartAsync(
            storage, ("Queue:Outbound:Smtp:Port", postfix.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("Queue:Outbound:Retry:Schedule", "1h"));
        host.AddDomain("dest.test", "mx.dest.test", listener);
        host.AddDomain("sender.test", "mx.sender.test", PostfixReceiver.Default);
        return host;
    }
}
