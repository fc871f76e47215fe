using MtaFunctions.Core.Policy.MtaSts;

namespace MtaFunctions.Tests.Policy.MtaSts;

public sealed class MtaStsPolicyParserTests
{
    /// <summary>RFC 8461 §3.2's own example.</summary>
    public const string RfcExample = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\n";

    public static TheoryData<string, string, string, string[], long> Accepted => new()
    {
        { "RFC 8461 §3.2 example", RfcExample, "enforce", ["mail.example.com", "*.example.net", "backupmx.example.com"], 604800 },
        { "CRLF lines", "version: STSv1\r\nmode: testing\r\nmx: mx1.example.com\r\nmax_age: 86400\r\n", "testing", ["mx1.example.com"], 86400 },
        { "no final line end", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1", "enforce", ["a.example"], 1 },
        { "mode none needs no mx", "version: STSv1\nmode: none\nmax_age: 0\n", "none", [], 0 },
        { "fields in any order", "max_age: 300\nmx: a.example\nmode: enforce\nversion: STSv1\n", "enforce", ["a.example"], 300 },
        { "unknown field ignored", "version: STSv1\nmode: enforce\nfoo_bar-1.x: anything at all\nmx: a.example\nmax_age: 5\n", "enforce", ["a.example"], 5 },
        { "first mode wins", "version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 5\n", "testing", ["a.example"], 5 },
        { "first max_age wins", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 5\nmax_age: 99999999999\n", "enforce", ["a.example"], 5 },
        { "first version wins", "version: STSv1\nversion: STSv2\nmode: enforce\nmx: a.example\nmax_age: 5\n", "enforce", ["a.example"], 5 },
        { "whitespace after colon and value", "version:\tSTSv1  \nmode:   enforce\t\nmx:  a.example \nmax_age:  7 \n", "enforce", ["a.example"], 7 },
        { "largest max_age", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557600\n", "enforce", ["a.example"], 31557600 },
        { "leading zeros in max_age (1*10DIGIT)", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 0000000060\n", "enforce", ["a.example"], 60 },
        { "duplicate mx kept once", "version: STSv1\nmode: enforce\nmx: a.example\nmx: A.Example\nmax_age: 5\n", "enforce", ["a.example"], 5 },
        { "IDN mx as U-label becomes A-label", "version: STSv1\nmode: enforce\nmx: *.bücher.example\nmax_age: 5\n", "enforce", ["*.xn--bcher-kva.example"], 5 },
        { "blank lines tolerated", "version: STSv1\n\nmode: enforce\nmx: a.example\nmax_age: 5\n\n\n", "enforce", ["a.example"], 5 },
        { "ABNF strings are case-insensitive", "Version: stsv1\nMODE: Enforce\nMX: a.example\nMax_Age: 5\n", "enforce", ["a.example"], 5 },
    };

    public static TheoryData<string, string, string> Rejected => new()
    {
        { "missing version", "mode: enforce\nmx: a.example\nmax_age: 5\n", "mta-sts: version: missing (must be STSv1)" },
        { "wrong version", "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 5\n", "mta-sts policy: line 1: version: 'STSv2' is not STSv1" },
        { "bad mode", "version: STSv1\nmode: enforcing\nmx: a.example\nmax_age: 5\n", "mta-sts policy: line 2: mode: 'enforcing' is not one of enforce, testing, none" },
        { "missing mode", "version: STSv1\nmx: a.example\nmax_age: 5\n", "mta-sts: mode: missing (must be enforce, testing or none)" },
        { "no mx in enforce", "version: STSv1\nmode: enforce\nmax_age: 5\n", "mta-sts: mx: missing: mode enforce needs at least one mx" },
        { "no mx in testing", "version: STSv1\nmode: testing\nmax_age: 5\n", "mta-sts: mx: missing: mode testing needs at least one mx" },
        { "mx typo leaves none (postfix-tlspol#95)", "version: STSv1\nmode: enforce\nnmx: a.example\nmax_age: 5\n", "mta-sts: mx: missing: mode enforce needs at least one mx" },
        { "negative max_age", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", "mta-sts policy: line 4: max_age: '-1' is not in 0..31557600" },
        { "max_age too large", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", "mta-sts policy: line 4: max_age: '31557601' is not in 0..31557600" },
        { "max_age 11 digits", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 00000000001\n", "mta-sts policy: line 4: max_age: '00000000001' is not in 0..31557600" },
        { "max_age not a number", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1d\n", "mta-sts policy: line 4: max_age: '1d' is not in 0..31557600" },
        { "missing max_age", "version: STSv1\nmode: enforce\nmx: a.example\n", "mta-sts: max_age: missing (must be in 0..31557600)" },
        { "mx with a port", "version: STSv1\nmode: enforce\nmx: a.example:25\nmax_age: 5\n", "mta-sts policy: line 3: mx: 'a.example:25' is not a host name or *.domain" },
        { "mx wildcard in the middle", "version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 5\n", "mta-sts policy: line 3: mx: 'a.*.example' is not a host name or *.domain" },
        { "bare wildcard", "version: STSv1\nmode: enforce\nmx: *\nmax_age: 5\n", "mta-sts policy: line 3: mx: '*' is not a host name or *.domain" },
        { "empty mx", "version: STSv1\nmode: enforce\nmx:\nmax_age: 5\n", "mta-sts policy: line 3: mx: '' is not a host name or *.domain" },
        { "line without colon", "version: STSv1\nmode enforce\nmx: a.example\nmax_age: 5\n", "mta-sts policy: line 2: mode enforce: not a 'key: value' field" },
        { "space before colon", "version: STSv1\nmode : enforce\nmx: a.example\nmax_age: 5\n", "mta-sts policy: line 2: mode : not a field name (letters, digits, '_', '-', '.'; at most 32)" },
        { "HTML instead of a policy", "<html><body>Not here</body></html>\n", "mta-sts policy: line 1: <html><body>Not here</body></html>: not a 'key: value' field" },
        { "empty body", "", "mta-sts: version: missing (must be STSv1)" },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Parse_Accepted_GivesFields(string reason, string text, string mode, string[] mx, long maxAge)
    {
        var policy = MtaStsPolicyParser.Parse(text);
        Assert.True(mode == policy.Mode.ToWire(), reason);
        Assert.Equal(mx, policy.MxPatterns.Select(p => p.Text));
        Assert.Equal(maxAge, policy.MaxAgeSeconds);
    }

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Parse_Rejected_NamesFieldAndPosition(string reason, string text, string message)
    {
        var e = Assert.Throws<MtaStsFormatException>(() => MtaStsPolicyParser.Parse(text));
        Assert.True(message == e.Message, $"{reason}: got \"{e.Message}\"");
    }

    [Theory]
    [MemberData(nameof(Accepted))]
    public void ToString_RoundTrip_ParsesToTheSamePolicy(string reason, string text, string mode, string[] mx, long maxAge)
    {
        _ = (mode, mx, maxAge);
        var policy = MtaStsPolicyParser.Parse(text);
        Assert.True(policy.Equals(MtaStsPolicyParser.Parse(policy.ToString())), reason);
    }

    [Fact]
    public void Lines_RfcExample_OneStringPerLineEachMxItsOwn()
    {
        // RFC 8460 §4.5: policy-string holds one element per policy line.
        Assert.Equal(
            ["version: STSv1", "mode: enforce", "mx: mail.example.com", "mx: *.example.net", "mx: backupmx.example.com", "max_age: 604800"],
            MtaStsPolicyParser.Parse(RfcExample).Lines);
    }

    [Fact]
    public void Parse_FuzzedCorpus_NeverThrowsAnythingButFormatErrors()
    {
        // Malformed policies (missing version, bad mode, no mx, bad max_age, duplicate keys, binary junk) must
        // end in a clear MtaStsFormatException or a valid policy, never in a crash.
        var random = new Random(8461);
        var seeds = Rejected.Select(r => r.Data.Item2).Concat(Accepted.Select(a => a.Data.Item2)).ToList();
        var parsed = 0;
        var rejected = 0;
        for (var i = 0; i < 5000; i++)
        {
            var chars = seeds[random.Next(seeds.Count)].ToCharArray();
            var mutations = random.Next(1, 6);
            for (var m = 0; m < mutations && chars.Length > 0; m++)
            {
                chars[random.Next(chars.Length)] = (char)random.Next(0, 0x2FF);
            }

            var text = random.Next(10) == 0 ? new string(Enumerable.Range(0, random.Next(200)).Select(_ => (char)random.Next(0, 0xFFFF)).ToArray()) : new string(chars);
            try
            {
                var policy = MtaStsPolicyParser.Parse(text);
                Assert.True(policy.Mode == MtaStsMode.None || policy.MxPatterns.Count > 0);
                parsed++;
            }
            catch (MtaStsFormatException e)
            {
                Assert.StartsWith("mta-sts", e.Message, StringComparison.Ordinal);
                rejected++;
            }
        }

        Assert.True(parsed > 0 && rejected > 0, $"parsed {parsed}, rejected {rejected}");
    }
}
