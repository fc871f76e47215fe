using MtaFunctions.Core.Policy.MtaSts;

namespace MtaFunctions.Tests.Policy.MtaSts;

public sealed class MtaStsRecordTests
{
    public static TheoryData<string, string, string> Accepted => new()
    {
        { "RFC 8461 §3.1 example", "v=STSv1; id=20160831085700Z;", "20160831085700Z" },
        { "no trailing delimiter (mail-auth)", "v=STSv1; id=20190429T010101", "20190429T010101" },
        { "no spaces", "v=STSv1;id=abc", "abc" },
        { "extension ignored", "v=STSv1; id=1; foo=bar", "1" },
        { "32-character id", "v=STSv1; id=abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345" },
        { "tabs around delimiter", "v=STSv1\t;\tid=X1\t;", "X1" },
    };

    public static TheoryData<string, string, string> Rejected => new()
    {
        { "no id", "v=STSv1;", "mta-sts: id: missing" },
        { "id too long", "v=STSv1; id=abcdefghijklmnopqrstuvwxyz0123456", "mta-sts: id: 'abcdefghijklmnopqrstuvwxyz0123456' is not 1-32 letters and digits" },
        { "id with punctuation", "v=STSv1; id=2016-08-31", "mta-sts: id: '2016-08-31' is not 1-32 letters and digits" },
        { "empty id", "v=STSv1; id=", "mta-sts: id: '' is not 1-32 letters and digits" },
        { "field without value", "v=STSv1; id=1; junk", "mta-sts: junk: not a name=value field" },
        { "empty field in the middle", "v=STSv1; ; id=1", "mta-sts: record: empty field between ';'" },
        { "version not first", "id=1; v=STSv1", "mta-sts: v: the record must begin with v=STSv1" },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Parse_Accepted_GivesId(string reason, string txt, string id) =>
        Assert.True(id == MtaStsRecord.Parse(txt).Id, reason);

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Parse_Rejected_NamesField(string reason, string txt, string message)
    {
        var e = Assert.Throws<MtaStsFormatException>(() => MtaStsRecord.Parse(txt));
        Assert.True(message == e.Message, $"{reason}: got \"{e.Message}\"");
    }

    [Theory]
    [MemberData(nameof(Accepted))]
    public void ToString_RoundTrip_KeepsId(string reason, string txt, string id)
    {
        _ = txt;
        Assert.True(id == MtaStsRecord.Parse(new MtaStsRecord(id).ToString()).Id, reason);
    }

    [Theory]
    [InlineData("v=STSv1; id=1", true)]
    [InlineData("v=STSv1", true)]
    [InlineData("v=STSv10; id=1", false)]
    [InlineData("v=spf1 -all", false)]
    [InlineData("V=STSv1; id=1", false)]
    public void IsCandidate_RecordsNotBeginningWithVersion_AreDiscarded(string txt, bool candidate) =>
        Assert.Equal(candidate, MtaStsRecord.IsCandidate(txt));
}
