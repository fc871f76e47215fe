using Microsoft.Extensions.Configuration;
using MtaFunctions.Core.Configuration;

namespace MtaFunctions.Tests.Configuration;

public sealed class RouteSettingsReaderTests
{
    private static OutboundSettings Read(params (string Key, string Value)[] values) =>
        SettingsReader.Read(new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build()).Outbound;

    [Fact]
    public void Relay_HostOnly_RequiresVerifiedStartTlsOnPort25()
    {
        var relay = Read(("Queue:Outbound:Relay:Host", "Smtp.Provider.example")).Relay!;

        Assert.Equal("Queue:Outbound:Relay", relay.Name);
        Assert.Equal("smtp.provider.example", relay.Host);
        Assert.Equal(25, relay.Port);
        Assert.Null(relay.MxDomain);
        Assert.False(relay.ImplicitTls);
        Assert.Equal(StartTlsMode.Require, relay.StartTls);
        Assert.False(relay.AllowInvalidCerts);
        Assert.Null(relay.Username);
        Assert.Null(relay.MaxConnections);
    }

    [Fact]
    public void Relay_ImplicitTlsWithAuth_DefaultsToPort465()
    {
        var relay = Read(
            ("Queue:Outbound:Relay:Host", "[smtp.provider.example]"),
            ("Queue:Outbound:Relay:ImplicitTls", "true"),
            ("Queue:Outbound:Relay:Username", "app"),
            ("Queue:Outbound:Relay:Password", " secret with spaces ")).Relay!;

        Assert.Equal(("smtp.provider.example", 465), (relay.Host, relay.Port));
        Assert.Equal("app", relay.Username);
        Assert.Equal(" secret with spaces ", relay.Password);
    }

    [Theory]
    [InlineData("smtp.example.com:587", "smtp.example.com", 587)]
    [InlineData("[smtp.example.com]:587", "smtp.example.com", 587)]
    [InlineData("[smtp.example.com]", "smtp.example.com", 25)]
    [InlineData("192.0.2.1:2525", "192.0.2.1", 2525)]
    [InlineData("[::1]:2525", "::1", 2525)]
    [InlineData("::1", "::1", 25)]
    [InlineData("relay.example.", "relay.example", 25)]
    public void HostAndPort_Accepted(string text, string host, int port) =>
        Assert.Equal((host, port), RouteSettingsReader.HostAndPort("k", text, 25));

    [Theory]
    [InlineData("smtp.example.com:0", "port 0")]
    [InlineData("smtp.example.com:65536", "port too large")]
    [InlineData("smtp.example.com:smtp", "port is a name")]
    [InlineData("[smtp.example.com]587", "no colon after ]")]
    [InlineData("smtp example.com", "space in host")]
    [InlineData("[]:25", "empty host")]
    public void HostAndPort_Rejected(string text, string reason)
    {
        var e = Assert.Throws<SettingsException>(() => RouteSettingsReader.HostAndPort("Queue:Outbound:Relay:Host", text, 25));
        Assert.True(e.Message == $"setting Queue:Outbound:Relay:Host: '{text}' is not host[:port] (smtp.example.com:587, [smtp.example.com]:587, 192.0.2.1:25, [::1]:2525)", reason);
    }

    [Fact]
    public void RouteFor_ExactThenWildcardThenRelay()
    {
        var s = Read(
            ("Queue:Outbound:Relay:Host", "smarthost.example"),
            ("Queue:Outbound:Routes:0:Domain", "partner.example"),
            ("Queue:Outbound:Routes:0:Host", "127.0.0.1:2525"),
            ("Queue:Outbound:Routes:0:StartTls", "disable"),
            ("Queue:Outbound:Routes:1:Domain", "*.corp.example"),
            ("Queue:Outbound:Routes:1:Mx", "mail.corp.example"),
            ("Queue:Outbound:Routes:1:MaxConnections", "4"));

        Assert.Equal("127.0.0.1", s.RouteFor("PARTNER.example.")!.Host);
        Assert.Equal(StartTlsMode.Disable, s.RouteFor("partner.example")!.StartTls);
        Assert.Equal("mail.corp.example", s.RouteFor("eu.corp.example")!.MxDomain);
        Assert.Equal(4, s.RouteFor("eu.corp.example")!.MaxConnections);
        Assert.Equal("Queue:Outbound:Routes:1", s.RouteFor("eu.corp.example")!.Name);
        Assert.Equal("smarthost.example", s.RouteFor("corp.example")!.Host);
        Assert.Equal("smarthost.example", s.RouteFor("anyone.example")!.Host);
    }

    [Theory]
    [InlineData("Queue:Outbound:Relay:Username", "app", "setting Queue:Outbound:Relay:Password: SMTP AUTH needs both Username and Password")]
    [InlineData("Queue:Outbound:Relay:Mx", "mx.example", "setting Queue:Outbound:Relay: set exactly one of Queue:Outbound:Relay:Host (host[:port], no MX lookup) and Queue:Outbound:Relay:Mx (a domain whose MX hosts are used)")]
    [InlineData("Queue:Outbound:Relay:Port", "587", "setting Queue:Outbound:Relay:Port: unknown relay key; allowed: Host, Mx, ImplicitTls, StartTls, AllowInvalidCerts, Username, Password, MaxConnections, MessagesPerMinute")]
    [InlineData("Queue:Outbound:Relay:StartTls", "always", "setting Queue:Outbound:Relay:StartTls: 'always' is not one of optional, require, disable")]
    [InlineData("Queue:Outbound:Relay:MaxConnections", "0", "setting Queue:Outbound:Relay:MaxConnections: '0' is not an integer in 1..1000")]
    public void Relay_BadValue_NamesKey(string key, string value, string message)
    {
        var e = Assert.Throws<SettingsException>(() => Read(("Queue:Outbound:Relay:Host", "relay.example"), (key, value)));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Relay_AuthWithoutRequiredTls_Refused()
    {
        // RFC 4954 §4: credentials never in the clear, so TLS must not be optional when AUTH is configured.
        var e = Assert.Throws<SettingsException>(() => Read(
            ("Queue:Outbound:Relay:Host", "relay.example"), ("Queue:Outbound:Relay:StartTls", "optional"),
            ("Queue:Outbound:Relay:Username", "app"), ("Queue:Outbound:Relay:Password", "pw")));
        Assert.Equal("setting Queue:Outbound:Relay:StartTls: 'optional' with Username set: AUTH is only sent over TLS; use require or ImplicitTls=true", e.Message);
    }

    [Fact]
    public void Routes_DomainNamedForm_RefusedWithTheIndexedForm()
    {
        var e = Assert.Throws<SettingsException>(() => Read(("Queue:Outbound:Routes:partner.example:Host", "relay.example")));
        Assert.Equal("setting Queue:Outbound:Routes:partner.example: 'partner.example' is not an index; write Queue:Outbound:Routes:0:Domain=<domain> and the entry's keys beside it", e.Message);
    }
}
