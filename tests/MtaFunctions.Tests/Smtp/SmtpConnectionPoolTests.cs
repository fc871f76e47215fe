using MtaFunctions.Client.Contract;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Smtp;

public sealed class SmtpConnectionPoolTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    [Fact]
    public async Task SendAsync_SeveralMessagesToOneMx_ReuseOneConnection()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("reuse.test", "mx.reuse.test", "127.0.0.41");
        var server = host.AddSmtpServer("127.0.0.41", host.Ca.IssueServer(["mx.reuse.test"]));

        for (var i = 0; i < 3; i++)
        {
            await host.SendAsync(Sender, [$"r{i}@reuse.test"], MtaTestHost.Message(Sender, $"r{i}@reuse.test"));
            await host.PumpAsync(TimeSpan.Zero);
        }

        Assert.Equal(3, host.Inbox.Count);
        Assert.All(host.Inbox, m => Assert.True(m.Secure));
        Assert.Equal(1, server.SessionCount);
    }

    [Fact]
    public async Task SendAsync_PooledConnectionClosedByServer_FallsBackToFreshConnection()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("restart.test", "mx.restart.test", "127.0.0.42");
        var first = host.AddSmtpServer("127.0.0.42", host.Ca.IssueServer(["mx.restart.test"]));
        await host.SendAsync(Sender, ["a@restart.test"], MtaTestHost.Message(Sender, "a@restart.test"));
        await host.PumpAsync(TimeSpan.Zero);
        await first.DisposeAsync();
        var second = host.AddSmtpServer("127.0.0.42", host.Ca.IssueServer(["mx.restart.test"]));

        var id = await host.SendAsync(Sender, ["b@restart.test"], MtaTestHost.Message(Sender, "b@restart.test"));
        await host.PumpAsync(TimeSpan.Zero);

        Assert.Equal(nameof(DeliveryState.Delivered), (await host.StatusAsync(id))["b@restart.test"].State);
        Assert.Equal(1, second.SessionCount);
        Assert.Equal(2, host.Inbox.Count);
    }

    [Fact]
    public async Task SendAsync_ReuseOff_OneConnectionPerMessage()
    {
        await using var host = await MtaTestHost.StartAsync(storage, ("Queue:Outbound:Smtp:MaxMessagesPerConnection", "1"));
        host.AddDomain("noreuse.test", "mx.noreuse.test", "127.0.0.43");
        var server = host.AddSmtpServer("127.0.0.43", host.Ca.IssueServer(["mx.noreuse.test"]));

        for (var i = 0; i < 2; i++)
        {
            await host.SendAsync(Sender, [$"n{i}@noreuse.test"], MtaTestHost.Message(Sender, $"n{i}@noreuse.test"));
            await host.PumpAsync(TimeSpan.Zero);
        }

        Assert.Equal(2, server.SessionCount);
    }
}
