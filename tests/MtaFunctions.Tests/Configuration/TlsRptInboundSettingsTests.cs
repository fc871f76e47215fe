using Microsoft.Extensions.Configuration;
using MtaFunctions.Core.Configuration;

namespace MtaFunctions.Tests.Configuration;

public sealed class TlsRptInboundSettingsTests
{
    private static TlsRptInboundSettings Read(params (string Key, string Value)[] values) =>
        SettingsReader.Read(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build()).TlsRptInbound;

    [Fact]
    public void Read_NothingSet_CatalogDefaults()
    {
        var s = Read();

        Assert.Empty(s.Domains);
        Assert.Null(s.Key);
        Assert.Equal(5_242_880, s.MaxBodySize);
        Assert.Equal(20_971_520, s.MaxReportSize);
        Assert.Equal(10_485_760, s.MaxMessageSize);
        Assert.Equal(10, s.FailureRateWarningPercent);
        Assert.Equal(TlsRptInboundSettings.Default with { Domains = s.Domains }, s);
        Assert.Equal(s.MaxBodySize.ToString(System.Globalization.CultureInfo.InvariantCulture), SettingsReader.Default(SettingKeys.TlsRptInboundMaxBodySize));
    }

    [Fact]
    public void Read_Domains_LowerCaseALabels()
    {
        var s = Read((SettingKeys.TlsRptInboundDomains, " Example.COM., bücher.example ,example.com"));

        Assert.Equal(["example.com", "xn--bcher-kva.example"], s.Domains);
    }

    [Theory]
    [InlineData("example.com", true)]
    [InlineData("mx1.example.com", true)]
    [InlineData("EXAMPLE.com.", true)]
    [InlineData("badexample.com", false)]
    [InlineData("example.net", false)]
    public void IsOurs_PolicyDomain_ExactOrSubdomain(string domain, bool ours)
    {
        Assert.Equal(ours, Read((SettingKeys.TlsRptInboundDomains, "example.com")).IsOurs(domain));
    }

    [Theory]
    [InlineData(SettingKeys.TlsRptInboundDomains, "example.com, not a domain", "setting Report:Tls:Inbound:Domains: 'not a domain' is not a domain name (a comma-separated list such as example.com, example.net)")]
    [InlineData(SettingKeys.TlsRptInboundKey, "short", "setting Report:Tls:Inbound:Key: must be at least 16 characters of A-Z, a-z, 0-9, '-' and '_' (it travels in a URL)")]
    [InlineData(SettingKeys.TlsRptInboundKey, "sixteen-chars-but&amp", "setting Report:Tls:Inbound:Key: must be at least 16 characters of A-Z, a-z, 0-9, '-' and '_' (it travels in a URL)")]
    [InlineData(SettingKeys.TlsRptInboundMaxBodySize, "10", "setting Report:Tls:Inbound:MaxBodySize: '10' is not an integer in 1024..1073741824")]
    [InlineData(SettingKeys.TlsRptInboundFailureRateWarning, "101", "setting Report:Tls:Inbound:FailureRateWarning: '101' is not an integer in 0..100")]
    public void Read_BadValue_EndpointOffNamingKeyAndAllowed(string key, string value, string message)
    {
        // A reporting setting never stops the app: the endpoint accepts no domain and the problem is kept.
        var s = key == SettingKeys.TlsRptInboundDomains ? Read((key, value)) : Read((SettingKeys.TlsRptInboundDomains, "example.com"), (key, value));

        Assert.Equal(key, s.Problem?.Key);
        Assert.Equal(message, s.Problem?.Message);
        Assert.Empty(s.Domains);
        Assert.False(s.IsOurs("example.com"));
    }
}
