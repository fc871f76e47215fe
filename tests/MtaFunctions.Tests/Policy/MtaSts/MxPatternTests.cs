using MtaFunctions.Core.Policy.MtaSts;

namespace MtaFunctions.Tests.Policy.MtaSts;

public sealed class MxPatternTests
{
    [Theory]
    [InlineData("mail.example.com", "mail.example.com", true)]
    [InlineData("mail.example.com", "MAIL.Example.COM.", true)]
    [InlineData("mail.example.com", "mail2.example.com", false)]
    [InlineData("*.example.net", "mx1.example.net", true)]
    [InlineData("*.example.net", "example.net", false)]        // RFC 8461 §4.1: not the domain itself
    [InlineData("*.example.net", "a.b.example.net", false)]    // RFC 8461 §4.1: exactly one left-most label
    [InlineData("*.example.net", "mx1.example.net.evil", false)]
    [InlineData("*.example.net", "mx1.xexample.net", false)]
    [InlineData("*.bücher.example", "mx.xn--bcher-kva.example", true)]
    [InlineData("*.xn--bcher-kva.example", "mx.bücher.example", true)]
    [InlineData("mx.bücher.example", "mx.xn--bcher-kva.example", true)]
    [InlineData("mx.bücher.example", "mx.buecher.example", false)]
    public void Matches_RfcRules(string pattern, string host, bool matches) =>
        Assert.Equal(matches, MxPattern.Parse(pattern, 1).Matches(host));

    [Fact]
    public void Matches_RfcExamplePolicy_AppliesToEveryMx()
    {
        var policy = MtaStsPolicyParser.Parse(MtaStsPolicyParserTests.RfcExample);
        Assert.True(policy.Matches("mail.example.com"));
        Assert.True(policy.Matches("backupmx.example.com"));
        Assert.True(policy.Matches("anything.example.net"));
        Assert.False(policy.Matches("example.net"));
        Assert.False(policy.Matches("other.example.com"));
    }
}
