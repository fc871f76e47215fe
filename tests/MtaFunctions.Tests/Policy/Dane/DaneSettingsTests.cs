using System.Net;
using Microsoft.Extensions.Configuration;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Dns;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Policy.Dane;

/// <summary>The DANE-related settings: Dns:TrustedValidators and Dns:DnssecProbeName.</summary>
public sealed class DaneSettingsTests
{
    private static MtaSettings Read(params (string Key, string Value)[] values) =>
        SettingsReader.Read(new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build());

    [Fact]
    public void Read_NoSettings_PinsDaneDefaults()
    {
        var s = Read();
        Assert.Empty(s.Dns.TrustedValidators);
        Assert.Equal(".", s.Dns.DnssecProbeName);
        Assert.Equal(".", SettingsReader.Default(SettingKeys.DnsDnssecProbeName));
        Assert.Equal("", SettingsReader.Default(SettingKeys.DnsTrustedValidators));
        Assert.Equal(DnssecValidation.Resolver, s.Dns.Dnssec);
        Assert.Equal("resolver", SettingsReader.Default(SettingKeys.DnsDnssec));
        Assert.Null(s.Dns.TrustAnchorsFile);
    }

    [Fact]
    public void Read_TrustedValidators_ParsedWithDefaultPort()
    {
        var s = Read((SettingKeys.DnsTrustedValidators, "127.0.0.1:5353, ::1"), (SettingKeys.DnsDnssecProbeName, "ietf.org"));
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, 5353), new IPEndPoint(IPAddress.IPv6Loopback, 53)], s.Dns.TrustedValidators);
        Assert.Equal("ietf.org", s.Dns.DnssecProbeName);
    }

    [Theory]
    [InlineData(SettingKeys.DnsTrustedValidators, "resolver.example", "setting Dns:TrustedValidators: 'resolver.example' is not an IP address with an optional port (9.9.9.9, 127.0.0.1:5353, [::1]:53)")]
    [InlineData(SettingKeys.DnsDnssec, "validate", "setting Dns:Dnssec: 'validate' is not one of resolver, in-process")]
    [InlineData(SettingKeys.DnsTrustAnchors, "/nonexistent/anchors.txt", "setting Dns:TrustAnchors: file '/nonexistent/anchors.txt' does not exist")]
    [InlineData(SettingKeys.DnsDnssecProbeName, "not a name", "setting Dns:DnssecProbeName: 'not a name' is not a DNS name (or \".\" for the root)")]
    public void Read_BadValue_ThrowsNamingKey(string key, string value, string message)
    {
        var e = Assert.Throws<SettingsException>(() => Read((key, value)));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public async Task QueryTxt_RootName_AskedAsRoot()
    {
        using var dns = new TestDnsServer { AuthenticData = true };
        dns.Txt(".", "root");
        var resolver = new DnsClientResolver(new DnsSettings { Servers = [dns.EndPoint], Timeout = TimeSpan.FromSeconds(2) }, [dns.EndPoint]);
        var answer = await resolver.QueryTxtAsync(".", TestContext.Current.CancellationToken);
        Assert.Equal(DnsStatus.Found, answer.Status);
        Assert.True(answer.Authenticated);
    }
}
