using System.Net;
using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Client.Contract;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Delivery;

/// <summary>
/// Routes end to end: the relay (Postfix relayhost) and per-domain next hops, against in-process SMTP servers
/// that demand AUTH over implicit TLS or STARTTLS, with real certificates and the test DNS on loopback.
/// </summary>
public sealed class RouteDeliveryTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Relay_WithAuthOverImplicitTlsOrStartTls_DeliversWithoutMxLookup(bool implicitTls)
    {
        var relayPort = FreePort.Next();
        await using var host = await MtaTestHost.StartAsync(
            storage,
            ("Queue:Outbound:Relay:Host", $"relay.provider.test:{relayPort}"),
            ("Queue:Outbound:Relay:ImplicitTls", implicitTls ? "true" : "false"),
            ("Queue:Outbound:Relay:Username", "app-user"),
            ("Queue:Outbound:Relay:Password", "s3cret pass"));
        host.Dns.A("relay.provider.test", "127.0.0.61");
        await using var relay = new TestSmtpServer(
            IPAddress.Parse("127.0.0.61"), relayPort, host.Ca.IssueServer(["relay.provider.test"]),
            new TestSmtpServerOptions(ImplicitTls: implicitTls, AuthUser: "app-user", AuthPassword: "s3cret pass"));
        var message = MtaTestHost.Message(Sender, "someone@unresolvable.test");

        var id = await host.SendAsync(Sender, ["someone@unresolvable.test"], message);
        await host.PumpAsync(TimeSpan.Zero);

        var row = (await host.StatusAsync(id))["someone@unresolvable.test"];
        Assert.Equal(nameof(DeliveryState.Delivered), row.State);
        Assert.Equal("route", row.PolicyApplied);
        Assert.Contains("route Queue:Outbound:Relay relay.provider.test", row.PolicyDetail, StringComparison.Ordinal);
        Assert.Equal("relay.provider.test", row.MxHost);
        Assert.True(row.CertificateVerified);
        var received = Assert.Single(relay.Inbox);
        Assert.True(received.Secure);
        // Byte-exact below the one Received: field the MTA adds on top (RFC 5321 §4.4).
        var sent = System.Text.Encoding.ASCII.GetString(message).TrimEnd('\r', '\n');
        var got = System.Text.Encoding.ASCII.GetString(received.Data).TrimEnd('\r', '\n');
        Assert.EndsWith(sent, got, StringComparison.Ordinal);
        Assert.Matches($@"^Received: (from [A-Za-z0-9.-]+ )?by mta\.sender\.test with HTTPS id {id};\r\n(\t[^\r\n]*\r\n)*$", got[..^sent.Length]);
        Assert.Equal([("app-user", true)], relay.AuthAttempts);
        Assert.Equal(0, host.Dns.QueriesByName.GetValueOrDefault("unresolvable.test"));
    }

    [Fact]
    public async Task Relay_WrongPassword_DefersAndSendsNothing()
    {
        var relayPort = FreePort.Next();
        await using var host = await MtaTestHost.StartAsync(
            storage,
            ("Queue:Outbound:Relay:Host", $"relay.provider.test:{relayPort}"),
            ("Queue:Outbound:Relay:Username", "app-user"),
            ("Queue:Outbound:Relay:Password", "wrong"));
        host.Dns.A("relay.provider.test", "127.0.0.62");
        await using var relay = new TestSmtpServer(
            IPAddress.Parse("127.0.0.62"), relayPort, host.Ca.IssueServer(["relay.provider.test"]),
            new TestSmtpServerOptions(AuthUser: "app-user", AuthPassword: "right"));

        var id = await host.SendAsync(Sender, ["a@elsewhere.test"], MtaTestHost.Message(Sender, "a@elsewhere.test"));
        await host.PumpAsync(TimeSpan.Zero);

        var row = (await host.StatusAsync(id))["a@elsewhere.test"];
        Assert.Equal(nameof(DeliveryState.Deferred), row.State);
        Assert.Contains("AUTH refused", row.LastReply, StringComparison.Ordinal);
        Assert.Empty(relay.Inbox);
        Assert.NotEmpty(relay.AuthAttempts);
        Assert.All(relay.AuthAttempts, attempt => Assert.Equal(("app-user", false), attempt));
    }

    [Fact]
    public async Task Relay_DefaultTls_RelayWithoutStartTlsGetsNothingInPlaintext()
    {
        var relayPort = FreePort.Next();
        await using var host = await MtaTestHost.StartAsync(storage, ("Queue:Outbound:Relay:Host", $"127.0.0.63:{relayPort}"));
        await using var relay = new TestSmtpServer(IPAddress.Parse("127.0.0.63"), relayPort, certificate: null);

        var id = await host.SendAsync(Sender, ["a@elsewhere.test"], MtaTestHost.Message(Sender, "a@elsewhere.test"));
        await host.PumpAsync(TimeSpan.Zero);

        var row = (await host.StatusAsync(id))["a@elsewhere.test"];
        Assert.Equal(nameof(DeliveryState.Deferred), row.State);
        Assert.Contains("STARTTLS required but not offered", row.LastReply, StringComparison.Ordinal);
        Assert.Empty(relay.Inbox);
    }

    [Fact]
    public async Task TlsRpt_HostRouteRecordsNothing_MxRouteRecordsForTheMxDomain()
    {
        // RFC 8460 §3/§4.4: a result belongs to the policy domain whose MX hosts were reached. A smarthost is not
        // the recipient domain's MX, so its sessions say nothing to that domain; a route to another domain's MX
        // hosts applies that domain's policies, and its sessions are results for it.
        var relayPort = FreePort.Next();
        await using var host = await MtaTestHost.StartAsync(
            storage,
            [
                .. Reporting.Outbound.TestDkimKeys.Settings("rsa"), ("Report:Tls:Aggregate:Send", "daily"),
                ("Queue:Outbound:Routes:0:Domain", "viarelay.test"),
                ("Queue:Outbound:Routes:0:Host", $"relay.provider.test:{relayPort}"),
                ("Queue:Outbound:Routes:1:Domain", "viahub.test"),
                ("Queue:Outbound:Routes:1:Mx", "hub.provider.test"),
            ]);
        foreach (var domain in new[] { "viarelay.test", "viahub.test", "hub.provider.test" })
        {
            host.Dns.Txt($"_smtp._tls.{domain}", $"v=TLSRPTv1; rua=mailto:tlsrpt@{domain}");
        }

        host.Dns.A("relay.provider.test", "127.0.0.67");
        await using var relay = new TestSmtpServer(IPAddress.Parse("127.0.0.67"), relayPort, host.Ca.IssueServer(["relay.provider.test"]));
        host.AddDomain("hub.provider.test", "mx.hub.provider.test", "127.0.0.68");
        var hub = host.AddSmtpServer("127.0.0.68", host.Ca.IssueServer(["mx.hub.provider.test"]));

        var id = await host.SendAsync(Sender, ["a@viarelay.test", "b@viahub.test"], MtaTestHost.Message(Sender, "a@viarelay.test"));
        await host.PumpAsync(TimeSpan.Zero);

        var status = await host.StatusAsync(id);
        Assert.All(status.Values, row => Assert.True(row.State == nameof(DeliveryState.Delivered), $"{row.Recipient}: {row.State} {row.LastReply}"));
        Assert.True(Assert.Single(relay.Inbox).Secure);
        Assert.Single(hub.Inbox);
        var (key, count) = Assert.Single(host.Services.GetRequiredService<Core.Reporting.Outbound.TlsSessionCounter>().Peek());
        Assert.Equal(1, count);
        Assert.Equal("hub.provider.test", key.Policy.Domain);
        Assert.Equal("mx.hub.provider.test", key.ReceivingMxHostname);
        Assert.Null(key.Failure);
    }

    [Fact]
    public async Task Route_PerDomain_OverridesTheRelay_AndMxRouteUsesThatDomainsMx()
    {
        var relayPort = FreePort.Next();
        var partnerPort = FreePort.Next();
        await using var host = await MtaTestHost.StartAsync(
            storage,
            ("Queue:Outbound:Relay:Host", $"127.0.0.64:{relayPort}"),
            ("Queue:Outbound:Relay:StartTls", "disable"),
            ("Queue:Outbound:Routes:0:Domain", "partner.test"),
            ("Queue:Outbound:Routes:0:Host", $"[gateway.partner.test]:{partnerPort}"),
            ("Queue:Outbound:Routes:1:Domain", "*.corp.test"),
            ("Queue:Outbound:Routes:1:Mx", "hub.corp.test"));
        host.Dns.A("gateway.partner.test", "127.0.0.65");
        host.AddDomain("hub.corp.test", "mx.hub.corp.test", "127.0.0.66");
        await using var relay = new TestSmtpServer(IPAddress.Parse("127.0.0.64"), relayPort, certificate: null);
        await using var partner = new TestSmtpServer(IPAddress.Parse("127.0.0.65"), partnerPort, host.Ca.IssueServer(["gateway.partner.test"]));
        var hub = host.AddSmtpServer("127.0.0.66", host.Ca.IssueServer(["mx.hub.corp.test"]));

        var id = await host.SendAsync(Sender, ["p@partner.test", "o@other.test", "e@eu.corp.test"], MtaTestHost.Message(Sender, "p@partner.test"));
        await host.PumpAsync(TimeSpan.Zero);

        var status = await host.StatusAsync(id);
        Assert.All(status.Values, row => Assert.True(row.State == nameof(DeliveryState.Delivered), $"{row.Recipient}: {row.State} {row.LastReply}"));
        Assert.Equal(["p@partner.test"], Assert.Single(partner.Inbox).To);
        Assert.True(partner.Inbox.Single().Secure);
        Assert.Equal(["o@other.test"], Assert.Single(relay.Inbox).To);
        Assert.False(relay.Inbox.Single().Secure);
        Assert.Equal(["e@eu.corp.test"], Assert.Single(hub.Inbox).To);
        Assert.Equal("mx.hub.corp.test", status["e@eu.corp.test"].MxHost);
        Assert.NotEqual("route", status["e@eu.corp.test"].PolicyApplied);
        Assert.Equal("route", status["p@partner.test"].PolicyApplied);
    }
}
