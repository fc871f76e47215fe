using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Tests.Reporting.TlsRpt;

public sealed class TlsRptFileNameTests
{
    [Fact]
    public void Create_Rfc8460Example_MatchesSection51()
    {
        var range = new TlsRptDateRange(DateTimeOffset.FromUnixTimeSeconds(1470013207), DateTimeOffset.FromUnixTimeSeconds(1470186007));

        Assert.Equal("mail.sndr.example.com!example.net!1470013207!1470186007!001.json.gz", TlsRptFileName.Create("mail.sndr.example.com", "example.net", range, "001", gzip: true));
    }

    [Fact]
    public void Create_NoUniqueIdUncompressed_EndsInJson()
    {
        var range = TlsRptDateRange.UtcDay(new DateOnly(2026, 11, 20));

        Assert.Equal("sender.example!mta.example!1795132800!1795219200.json", TlsRptFileName.Create("Sender.Example.", "mta.example", range, null, gzip: false));
    }

    [Fact]
    public void Create_UnicodeDomain_UsesALabels()
    {
        var range = TlsRptDateRange.UtcDay(new DateOnly(2026, 11, 20));

        Assert.StartsWith("sender.example!xn--bcher-kva.example!", TlsRptFileName.Create("sender.example", "bücher.example", range, null, gzip: true), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sender.example", "mta.example", "a!b")]
    [InlineData("sender.example", "mta.example", "a.b")]
    [InlineData("sender.example", "mta.example", "")]
    [InlineData("not a domain", "mta.example", null)]
    [InlineData("sender.example", "", null)]
    public void Create_BadPart_Throws(string sender, string policyDomain, string? uniqueId)
    {
        Assert.Throws<ArgumentException>(() => TlsRptFileName.Create(sender, policyDomain, TlsRptDateRange.UtcDay(new DateOnly(2026, 11, 20)), uniqueId, gzip: true));
    }
}
