using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Policy.Dane;

namespace MtaFunctions.Tests.Policy.Dane;

/// <summary>Which TLSA records SMTP can use (RFC 7672 §3.1.3, RFC 6698 §2.1) and digest agility (RFC 7671 §9).</summary>
public sealed class TlsaRecordTests
{
    public static TheoryData<byte, byte, byte, int> Accepted => new()
    {
        { 3, 1, 1, 32 },  // RFC 7671 §5.1: "3 1 1", recommended
        { 3, 0, 1, 32 },
        { 3, 1, 2, 64 },
        { 3, 0, 0, 300 },
        { 2, 0, 1, 32 },
        { 2, 1, 1, 32 },
        { 2, 1, 0, 91 },
        { 2, 0, 2, 64 },
    };

    public static TheoryData<byte, byte, byte, int, string> Rejected => new()
    {
        { 0, 0, 1, 32, "PKIX" },            // RFC 7672 §3.1.3
        { 1, 1, 1, 32, "PKIX" },            // RFC 7672 §3.1.3
        { 4, 1, 1, 32, "usage 4" },
        { 255, 1, 1, 32, "usage 255" },
        { 3, 2, 1, 32, "selector 2" },
        { 3, 1, 3, 32, "matching type 3" },
        { 3, 1, 1, 31, "not 32" },          // RFC 7671 §9: wrong digest length
        { 3, 1, 1, 33, "not 32" },
        { 3, 1, 2, 32, "not 64" },
        { 3, 1, 1, 0, "not 32" },
        { 3, 0, 0, 0, "empty" },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void IsUsable_AcceptedRow_True(byte usage, byte selector, byte matching, int length)
    {
        var record = new TlsaRecord(usage, selector, matching, new byte[length]);
        Assert.True(record.IsUsable, record.UnusableReason);
    }

    [Theory]
    [MemberData(nameof(Rejected))]
    public void IsUsable_RejectedRow_FalseWithReason(byte usage, byte selector, byte matching, int length, string reason)
    {
        var record = new TlsaRecord(usage, selector, matching, new byte[length]);
        Assert.False(record.IsUsable);
        Assert.Contains(reason, record.UnusableReason, StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_PresentationForm_MatchesWireData()
    {
        var data = new TlsaRecordData(3, 1, 1, [0xAB, 0xCD]);
        Assert.Equal(data.ToString(), TlsaRecord.From(data).ToString());
        Assert.Equal("3 1 1 ABCD", TlsaRecord.From(data).ToString());
    }

    [Fact]
    public void Effective_RfcExample311And312And310_KeepsFullAndSha512()
    {
        // RFC 7671 §9: with 3 1 1, 3 1 2 and 3 1 0 published, 3 1 0 and 3 1 2 count, 3 1 1 does not.
        var set = new TlsaRecordSet("mx.test", [new(3, 1, 1, new byte[32]), new(3, 1, 2, new byte[64]), new(3, 1, 0, new byte[91])]);
        Assert.Equal(["3 1 0", "3 1 2"], set.Effective.Select(r => $"{r.Usage} {r.Selector} {r.MatchingType}").Order().ToArray());
    }

    [Fact]
    public void Effective_AgilityIsPerUsageAndSelector_OtherGroupsKept()
    {
        var set = new TlsaRecordSet("mx.test", [new(3, 1, 1, new byte[32]), new(3, 1, 2, new byte[64]), new(2, 0, 1, new byte[32]), new(3, 0, 1, new byte[32])]);
        Assert.Equal(["2 0 1", "3 0 1", "3 1 2"], set.Effective.Select(r => $"{r.Usage} {r.Selector} {r.MatchingType}").Order().ToArray());
    }

    [Fact]
    public void Effective_MalformedStrongerDigestIsDiscardedFirst_WeakerCounts()
    {
        // RFC 7671 §9: malformed records are discarded before the strongest digest is chosen.
        var set = new TlsaRecordSet("mx.test", [new(3, 1, 1, new byte[32]), new(3, 1, 2, new byte[10])]);
        Assert.Equal("3 1 1", set.Effective.Select(r => $"{r.Usage} {r.Selector} {r.MatchingType}").Single());
    }

    [Fact]
    public void HasUsable_OnlyUnusable_False()
    {
        var set = new TlsaRecordSet("mx.test", [new(0, 1, 1, new byte[32]), new(3, 1, 1, new byte[5])]);
        Assert.False(set.HasUsable);
        Assert.Equal(2, set.PresentationStrings.Count);
    }

    [Fact]
    public void IsUsable_RandomRecords_NeverThrows()
    {
        var random = new Random(7672);
        for (var i = 0; i < 5000; i++)
        {
            var data = new byte[random.Next(0, 80)];
            random.NextBytes(data);
            var record = new TlsaRecord((byte)random.Next(0, 256), (byte)random.Next(0, 4), (byte)random.Next(0, 4), data);
            var usable = record.IsUsable;
            Assert.Equal(usable, record.UnusableReason is null);
            _ = new TlsaRecordSet("mx.test", [record]).Effective;
        }
    }
}
