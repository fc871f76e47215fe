using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Tests.Reporting.TlsRpt;

public sealed class TlsRptRecordTests
{
    public static TheoryData<string, string[], string> Accepted => new()
    {
        { "v=TLSRPTv1;rua=mailto:reports@example.com", ["mailto:reports@example.com"], "RFC 8460 §3 example 1" },
        { "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt", ["https://reporting.example.com/v1/tlsrpt"], "RFC 8460 §3 example 2" },
        { "v=TLSRPTv1; rua=mailto:tlsrpt@mydomain.com,https://tlsrpt.mydomain.com/v1", ["mailto:tlsrpt@mydomain.com", "https://tlsrpt.mydomain.com/v1"], "mixed list" },
        { "v=TLSRPTv1; rua=mailto:a@example.com , mailto:b@example.com;", ["mailto:a@example.com", "mailto:b@example.com"], "whitespace around comma, trailing ;" },
        { "v=TLSRPTv1; rua=mailto:a@example.com; ext_1=value", ["mailto:a@example.com"], "extension ignored" },
        { "v=TLSRPTv1; rua=ftp://example.com/x,mailto:a@example.com", ["mailto:a@example.com"], "unknown scheme skipped" },
        { "v=TLSRPTv1; rua=mailto:tls%2Brpt@example.com", ["mailto:tls%2Brpt@example.com"], "percent-encoded character" },
    };

    public static TheoryData<string, string> Rejected => new()
    {
        { "v=TLSRPTv1;", "tlsrpt record: rua is required" },
        { "v=TLSRPTv1; rua=", "tlsrpt record: rua '' is not a URI" },
        { "v=TLSRPTv1; rua=mailto:", "tlsrpt record: rua 'mailto:' is not a mailto: address" },
        { "v=TLSRPTv1; rua=reports@example.com", "tlsrpt record: rua 'reports@example.com' is not a URI" },
        { "v=TLSRPTv1; rua=mailto:not-an-address", "tlsrpt record: rua 'mailto:not-an-address' is not a mailto: address" },
        { "v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com", "tlsrpt record: rua appears twice" },
        { "v=TLSRPTv1; rua=ftp://example.com/x", "tlsrpt record: rua names no mailto: or https: URI" },
        { "v=TLSRPTv1; rua=mailto:a@example.com;; x=y", "tlsrpt record: empty field" },
        { "v=TLSRPTv1; rua=mailto:a@example.com; novalue", "tlsrpt record: field 'novalue' is not name=value" },
        { "v=TLSRPTv1; rua=mailto:a@example.com; _bad=x", "tlsrpt record: field '_bad=x' is not a valid extension" },
        { "v=TLSRPTv2; rua=mailto:a@example.com", "tlsrpt record: must start with v=TLSRPTv1" },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Parse_Accepted_ListsReportingUris(string txt, string[] uris, string reason)
    {
        var record = TlsRptRecord.Parse(txt);
        Assert.True(uris.SequenceEqual(record.ReportingUris.Select(u => u.OriginalString)), reason);
        Assert.Equal(record, TlsRptRecord.Parse(record.ToString()) with { }, new RecordComparer());
    }

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Parse_Rejected_NamesTheProblem(string txt, string message)
    {
        var e = Assert.Throws<FormatException>(() => TlsRptRecord.Parse(txt));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void FromTxt_OtherRecordsIgnored_FindsTheOne()
    {
        var lookup = TlsRptRecordLookup.FromTxt(["v=spf1 -all", "v=TLSRPTv1; rua=mailto:r@example.com"]);
        Assert.Equal(TlsRptLookupStatus.Found, lookup.Status);
        Assert.Equal("mailto:r@example.com", lookup.Record!.ReportingUris.Single().OriginalString);
    }

    [Fact]
    public void FromTxt_TwoRecords_MultipleRecordsMeansNoReporting()
    {
        var lookup = TlsRptRecordLookup.FromTxt(["v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1; rua=mailto:b@example.com"]);
        Assert.Equal(TlsRptLookupStatus.MultipleRecords, lookup.Status);
        Assert.Null(lookup.Record);
    }

    [Fact]
    public void FromTxt_NoVersion_NoRecord()
    {
        Assert.Equal(TlsRptLookupStatus.NoRecord, TlsRptRecordLookup.FromTxt(["v=TLSRPTv10; rua=mailto:a@example.com"]).Status);
        Assert.Equal(TlsRptLookupStatus.RecordSyntax, TlsRptRecordLookup.FromTxt(["v=TLSRPTv1; rua=nothing"]).Status);
    }

    [Fact]
    public void NameFor_PolicyDomain_IsSmtpTlsLabel() =>
        Assert.Equal("_smtp._tls.example.com", TlsRptRecordLookup.NameFor("example.com."));

    private sealed class RecordComparer : IEqualityComparer<TlsRptRecord>
    {
        public bool Equals(TlsRptRecord? x, TlsRptRecord? y) => x!.ReportingUris.SequenceEqual(y!.ReportingUris);

        public int GetHashCode(TlsRptRecord obj) => obj.ReportingUris.Count;
    }
}
