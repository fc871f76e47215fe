using Microsoft.Extensions.Configuration;
using MtaFunctions.Core.Configuration;

namespace MtaFunctions.Tests.Configuration;

public sealed class SettingsReaderTests
{
    private static MtaSettings Read(params (string Key, string Value)[] values) =>
        SettingsReader.Read(new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build());

    [Fact]
    public void Read_NoSettings_PinsEveryDefault()
    {
        var s = Read();
        Assert.Equal(TlsSettings.Default, s.Outbound.Tls);
        Assert.Equal(StartTlsMode.Optional, s.Outbound.Tls.StartTls);
        Assert.False(s.Outbound.Tls.AllowInvalidCerts);
        Assert.Equal(PolicyMode.Optional, s.Outbound.Tls.Dane);
        Assert.Equal(PolicyMode.Optional, s.Outbound.Tls.MtaSts);
        Assert.Equal(25, s.Outbound.SmtpPort);
        Assert.Equal(TimeSpan.FromDays(5), s.Outbound.MessageLifetime);
        Assert.Equal(TimeSpan.FromDays(30), s.Outbound.DeliveriesRetention);
        Assert.Equal(TimeSpan.FromMinutes(2), s.Outbound.RetrySchedule[0]);
        Assert.Equal(TimeSpan.FromHours(8), s.Outbound.RetrySchedule[^1]);
        Assert.Equal(TimeSpan.FromSeconds(30), s.Outbound.ConnectTimeout);
        Assert.Equal(TimeSpan.FromMinutes(5), s.Outbound.CommandTimeout);
        Assert.False(s.Outbound.AllowPrivateDestinations);
        Assert.Equal(4, s.Outbound.MaxParallelDomains);
        Assert.Equal(100, s.Outbound.MaxMessagesPerConnection);
        Assert.Equal(TimeSpan.FromSeconds(10), s.Outbound.ConnectionIdleTime);
        Assert.Equal(TimeSpan.FromMinutes(1), s.Outbound.MtaStsTimeout);
        Assert.Equal(443, s.Outbound.MtaStsPort);
        Assert.Null(s.Outbound.ExtraRootCasFile);
        Assert.Empty(s.Outbound.EgressIps);
        Assert.Empty(s.Outbound.Rules);
        Assert.Empty(s.Dns.Servers);
        Assert.Equal(TimeSpan.FromSeconds(5), s.Dns.Timeout);
        Assert.Equal(TimeSpan.FromMinutes(5), s.Dns.CacheMaxTtl);
        Assert.False(string.IsNullOrEmpty(s.Outbound.Hostname));
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("30s", 30)]
    public void Read_DnsCacheMaxTtl_ZeroTurnsTheCacheOff(string value, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), Read((SettingKeys.DnsCacheMaxTtl, value)).Dns.CacheMaxTtl);

    [Theory]
    [InlineData(SettingKeys.StartTls, "maybe", "setting Queue:Outbound:Tls:StartTls: 'maybe' is not one of optional, require, disable")]
    [InlineData(SettingKeys.MtaStsTimeout, "soon", "setting Queue:Outbound:Timeout:MtaSts: 'soon' is not a duration such as 30s, 5m, 2h, 5d or 00:05:00")]
    [InlineData(SettingKeys.MtaStsPort, "0", "setting Queue:Outbound:MtaSts:Port: '0' is not an integer in 1..65535")]
    [InlineData(SettingKeys.Dane, "on", "setting Queue:Outbound:Tls:Dane: 'on' is not one of optional, require, disable")]
    [InlineData(SettingKeys.MtaSts, "enforce", "setting Queue:Outbound:Tls:MtaSts: 'enforce' is not one of optional, require, disable")]
    [InlineData(SettingKeys.AllowInvalidCerts, "yes", "setting Queue:Outbound:Tls:AllowInvalidCerts: 'yes' is not one of true, false")]
    [InlineData(SettingKeys.SmtpPort, "70000", "setting Queue:Outbound:Smtp:Port: '70000' is not an integer in 1..65535")]
    [InlineData(SettingKeys.RetrySchedule, "2m,soon", "setting Queue:Outbound:Retry:Schedule: 'soon' is not a duration such as 30s, 5m, 2h, 5d or 00:05:00")]
    [InlineData(SettingKeys.MessageLifetime, "-1d", "setting Queue:Outbound:Retry:Lifetime: '-1d' must be positive")]
    [InlineData(SettingKeys.DeliveriesRetention, "5d", "setting Queue:Outbound:Deliveries:Retention: '5d' must be at least a day longer than Queue:Outbound:Retry:Lifetime (5d): rows of messages still being retried would go; 0 keeps rows forever")]
    [InlineData(SettingKeys.DeliveriesRetention, "soon", "setting Queue:Outbound:Deliveries:Retention: 'soon' is not a duration such as 30s, 5m, 2h, 5d or 00:05:00")]
    [InlineData(SettingKeys.DnsServers, "dns.google", "setting Dns:Servers: 'dns.google' is not an IP address with an optional port (9.9.9.9, 127.0.0.1:5353, [::1]:53)")]
    [InlineData(SettingKeys.EgressIps, "203.0.113.7,nat.example", "setting Queue:Outbound:EgressIps: 'nat.example' is not an IP address (203.0.113.7, 2001:db8::7)")]
    [InlineData(SettingKeys.Hostname, "localhost", "setting Queue:Outbound:Hostname: 'localhost' is not a fully qualified host name")]
    [InlineData(SettingKeys.ExtraRootCas, "/nonexistent/roots.pem", "setting Queue:Outbound:Tls:ExtraRootCas: file '/nonexistent/roots.pem' does not exist")]
    public void Read_BadValue_NamesKeyAndAllowedValues(string key, string value, string message)
    {
        var e = Assert.Throws<SettingsException>(() => Read((key, value)));
        Assert.Equal(message, e.Message);
        Assert.Equal(key, e.Key);
    }

    [Fact]
    public void Read_DeliveriesRetention_ZeroKeepsRows_LongerLifetimeNeedsLongerRetention()
    {
        Assert.Equal(TimeSpan.Zero, Read((SettingKeys.DeliveriesRetention, "0")).Outbound.DeliveriesRetention);
        Assert.Equal(TimeSpan.FromDays(8), Read((SettingKeys.MessageLifetime, "7d"), (SettingKeys.DeliveriesRetention, "8d")).Outbound.DeliveriesRetention);
        Assert.Throws<SettingsException>(() => Read((SettingKeys.MessageLifetime, "30d")));
    }

    [Fact]
    public void Read_WordsAreCaseInsensitive()
    {
        var s = Read((SettingKeys.StartTls, "REQUIRE"), (SettingKeys.Dane, "Disable"));
        Assert.Equal(StartTlsMode.Require, s.Outbound.Tls.StartTls);
        Assert.Equal(PolicyMode.Disable, s.Outbound.Tls.Dane);
    }

    [Fact]
    public void TlsFor_RuleOverridesOnlyItsKeys_WildcardCoversSubdomains()
    {
        var s = Read(
            (SettingKeys.StartTls, "optional"),
            ("Queue:Outbound:Tls:Rules:legacy.example:StartTls", "disable"),
            ("Queue:Outbound:Tls:Rules:*.bank.example:Dane", "require"),
            ("Queue:Outbound:Tls:Rules:*.bank.example:StartTls", "require"));

        Assert.Equal(StartTlsMode.Disable, s.Outbound.TlsFor("LEGACY.example.").StartTls);
        Assert.Equal(PolicyMode.Optional, s.Outbound.TlsFor("legacy.example").Dane);
        Assert.Equal(PolicyMode.Require, s.Outbound.TlsFor("mx.bank.example").Dane);
        Assert.Equal(StartTlsMode.Require, s.Outbound.TlsFor("a.b.bank.example").StartTls);
        Assert.Equal(TlsSettings.Default, s.Outbound.TlsFor("bank.example"));
        Assert.Equal(TlsSettings.Default, s.Outbound.TlsFor("other.example"));
    }

    [Theory]
    [InlineData("Queue:Outbound:Tls:Rules:legacy.example:StartTls", "sometimes", "setting Queue:Outbound:Tls:Rules:legacy.example:StartTls: 'sometimes' is not one of optional, require, disable")]
    [InlineData("Queue:Outbound:Tls:Rules:legacy.example:Starttls2", "require", "setting Queue:Outbound:Tls:Rules:legacy.example:Starttls2: unknown rule key; allowed: StartTls, AllowInvalidCerts, Dane, MtaSts")]
    [InlineData("Queue:Outbound:Tls:Rules:bad_domain!:Dane", "require", "setting Queue:Outbound:Tls:Rules:bad_domain!: 'bad_domain!' is not a domain or *.domain")]
    public void Read_BadRule_NamesRuleKey(string key, string value, string message)
    {
        var e = Assert.Throws<SettingsException>(() => Read((key, value)));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void TlsFor_IndexedRulesFromAzureValidNames_SameAsDomainNamedRules()
    {
        // Environment variables as Azure app settings may be named (letters, digits, '_' only; '__' is ':').
        var prefix = $"MTA_TEST_{Guid.NewGuid():N}_";
        var names = new Dictionary<string, string>
        {
            ["Queue__Outbound__Tls__Rules__0__Domain"] = "my-domain.example",
            ["Queue__Outbound__Tls__Rules__0__StartTls"] = "disable",
            ["Queue__Outbound__Tls__Rules__1__Domain"] = "*.bank.example",
            ["Queue__Outbound__Tls__Rules__1__Dane"] = "require",
        };
        Assert.All(names.Keys, name => Assert.Matches("^[A-Za-z0-9_]+$", name));
        try
        {
            foreach (var (name, value) in names)
            {
                Environment.SetEnvironmentVariable(prefix + name, value);
            }

            var s = SettingsReader.Read(new ConfigurationBuilder().AddEnvironmentVariables(prefix).Build());

            Assert.Equal(StartTlsMode.Disable, s.Outbound.TlsFor("MY-DOMAIN.example.").StartTls);
            Assert.Equal(PolicyMode.Require, s.Outbound.TlsFor("mx.bank.example").Dane);
            Assert.Equal(TlsSettings.Default, s.Outbound.TlsFor("bank.example"));
        }
        finally
        {
            foreach (var name in names.Keys)
            {
                Environment.SetEnvironmentVariable(prefix + name, null);
            }
        }
    }

    [Theory]
    [InlineData("Queue:Outbound:Tls:Rules:1:StartTls", "require", "setting Queue:Outbound:Tls:Rules:1:Domain: missing: each entry names its destination domain (my-domain.com or *.my-domain.com)")]
    [InlineData("Queue:Outbound:Tls:Rules:1:Domain", "bad_domain!", "setting Queue:Outbound:Tls:Rules:1:Domain: 'bad_domain!' is not a domain or *.domain")]
    [InlineData("Queue:Outbound:Tls:Rules:0:Dnae", "require", "setting Queue:Outbound:Tls:Rules:0:Dnae: unknown rule key; allowed: Domain, StartTls, AllowInvalidCerts, Dane, MtaSts")]
    public void Read_BadIndexedRule_NamesRuleKey(string key, string value, string message)
    {
        var e = Assert.Throws<SettingsException>(() => Read(("Queue:Outbound:Tls:Rules:0:Domain", "ok.example"), (key, value)));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Read_SameDomainInTwoRules_NamesBoth()
    {
        var e = Assert.Throws<SettingsException>(() => Read(
            ("Queue:Outbound:Tls:Rules:0:Domain", "twice.example"), ("Queue:Outbound:Tls:Rules:1:Domain", "TWICE.example.")));
        Assert.Equal("setting Queue:Outbound:Tls:Rules:1: domain 'twice.example' is already set by Queue:Outbound:Tls:Rules:0", e.Message);
    }

    [Fact]
    public void Read_NoSettings_PinsRouteAndLimitDefaults()
    {
        var s = Read().Outbound;
        Assert.Null(s.Relay);
        Assert.Empty(s.Routes);
        Assert.Null(s.RouteFor("example.com"));
        Assert.Equal(new DestinationLimit(20, 0), s.Limits.Default);
        Assert.Equal(TimeSpan.FromMinutes(1), s.Limits.MaxWait);
        Assert.Empty(s.Limits.Rules);
        Assert.Equal(50, s.MaxRecipientsPerTransaction);
        Assert.Equal(26_214_400, s.MaxMessageSize);
    }

    [Fact]
    public void Limits_RuleForHostWinsOverDomain_RouteOverridesDefault()
    {
        var s = Read(
            (SettingKeys.LimitsMaxConnections, "8"),
            ("Queue:Outbound:Limits:Rules:0:Domain", "*.google.example"),
            ("Queue:Outbound:Limits:Rules:0:MaxConnections", "30"),
            ("Queue:Outbound:Limits:Rules:1:Domain", "gmail.example"),
            ("Queue:Outbound:Limits:Rules:1:MessagesPerMinute", "600"),
            ("Queue:Outbound:Relay:Host", "relay.example:587"),
            ("Queue:Outbound:Relay:MaxConnections", "3")).Outbound;

        Assert.Equal(new DestinationLimit(30, 0), s.Limits.For("mx1.google.example", "gmail.example"));
        Assert.Equal(new DestinationLimit(8, 600), s.Limits.For("mx.other.example", "gmail.example"));
        Assert.Equal(new DestinationLimit(8, 0), s.Limits.For("mx.other.example", "other.example"));
        Assert.Equal(new DestinationLimit(3, 0), s.Limits.For(s.Relay!));
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("5m", 300)]
    [InlineData("2h", 7200)]
    [InlineData("1.5d", 129600)]
    [InlineData("00:05:00", 300)]
    public void ParseDuration_Accepted(string text, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), SettingsReader.ParseDuration("k", text));

    [Fact]
    public void RetryDelay_LastStepRepeats()
    {
        var s = Read((SettingKeys.RetrySchedule, "1m, 10m"));
        Assert.Equal(TimeSpan.FromMinutes(1), s.Outbound.RetryDelay(1));
        Assert.Equal(TimeSpan.FromMinutes(10), s.Outbound.RetryDelay(2));
        Assert.Equal(TimeSpan.FromMinutes(10), s.Outbound.RetryDelay(9));
    }
}
