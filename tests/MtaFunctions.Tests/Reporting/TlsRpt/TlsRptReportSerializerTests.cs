using System.IO.Compression;
using System.Text;
using System.Text.Json;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Tests.Reporting.TlsRpt;

public sealed class TlsRptReportSerializerTests
{
    private const string Policy = """{"policy-type":"sts","policy-string":["version: STSv1"],"policy-domain":"mta.example","mx-host":["mx.mta.example"]}""";
    private const string Summary = """{"total-successful-session-count":5,"total-failure-session-count":1}""";
    private const string Detail = """{"result-type":"starttls-not-supported","sending-mta-ip":"192.0.2.1","receiving-mx-hostname":"mx.mta.example","receiving-ip":"192.0.2.25","failed-session-count":1}""";

    private static string Minimal(
        string policy = Policy,
        string summary = Summary,
        string details = "[" + Detail + "]",
        string start = "\"2026-11-20T00:00:00Z\"",
        string end = "\"2026-11-21T00:00:00Z\"",
        string contact = "\"tlsrpt@sender.example\"",
        string reportId = "\"r-1\"",
        string organization = "\"Sender\"") =>
        $$"""{"organization-name":{{organization}},"date-range":{"start-datetime":{{start}},"end-datetime":{{end}}},"contact-info":{{contact}},"report-id":{{reportId}},"policies":[{"policy":{{policy}},"summary":{{summary}},"failure-details":{{details}}}]}""";

    [Fact]
    public void Parse_Rfc8460AppendixBNormalized_ReadsEveryField()
    {
        var report = TlsRptReportSerializer.Parse(TlsRptFixtures.Bytes(TlsRptFixtures.AppendixBNormalized));

        Assert.Equal("Company-X", report.OrganizationName);
        Assert.Equal(new DateTimeOffset(2016, 4, 1, 0, 0, 0, TimeSpan.Zero), report.DateRange.Start);
        Assert.Equal(new DateTimeOffset(2016, 4, 1, 23, 59, 59, TimeSpan.Zero), report.DateRange.End);
        Assert.Equal("sts-reporting@company-x.example", report.ContactInfo);
        Assert.Equal("5065427c-23d3-47ca-b6e0-946ea0e8c4be", report.ReportId);
        var policy = Assert.Single(report.Policies);
        Assert.Equal("sts", policy.Policy.PolicyType);
        Assert.Equal(TlsRptPolicyType.Sts, policy.Policy.KnownType);
        Assert.Equal(["version: STSv1", "mode: testing", "mx: *.mail.company-y.example", "max_age: 86400"], policy.Policy.PolicyStrings);
        Assert.Equal("company-y.example", policy.Policy.PolicyDomain);
        Assert.Equal(["*.mail.company-y.example"], policy.Policy.MxHosts);
        Assert.Equal(new TlsRptSummary(5326, 303), policy.Summary);
        Assert.Equal(
            [
                new TlsRptFailureDetail("certificate-expired", "2001:db8:abcd:0012::1", "mx1.mail.company-y.example", null, null, 100, null, null),
                new TlsRptFailureDetail("starttls-not-supported", "2001:db8:abcd:0013::1", "mx2.mail.company-y.example", null, "203.0.113.56", 200, "https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported", null),
                new TlsRptFailureDetail("validation-failure", "198.51.100.62", "mx-backup.mail.company-y.example", null, "203.0.113.58", 3, null, "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"),
            ],
            policy.FailureDetails);
        Assert.Equal(TlsRptResultType.CertificateExpired, policy.FailureDetails[0].KnownResultType);
    }

    [Fact]
    public void Parse_Rfc8460AppendixBAsPrinted_RefusesRawLineBreakInsideString()
    {
        // The printed RFC wraps the additional-information URL inside the string: that is not JSON (RFC 8259 §7
        // forbids raw control characters in strings), so a reader must say so rather than guess.
        var e = Assert.Throws<TlsRptReportFormatException>(() => TlsRptReportSerializer.Parse(TlsRptFixtures.Bytes(TlsRptFixtures.AppendixBPrinted)));

        Assert.Equal("report", e.Field);
        Assert.StartsWith("tls-rpt report: report: not valid JSON", e.Message, StringComparison.Ordinal);
        Assert.Contains("LineNumber: 31", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Rfc8460AppendixBWithMxHostString_EqualsNormalizedApartFromThePrintedUrl()
    {
        var printed = TlsRptReportSerializer.Parse(TlsRptFixtures.Bytes(TlsRptFixtures.AppendixBJoined));
        var normalized = TlsRptReportSerializer.Parse(TlsRptFixtures.Bytes(TlsRptFixtures.AppendixBNormalized));

        Assert.Equal(["*.mail.company-y.example"], printed.Policies[0].Policy.MxHosts);
        Assert.Equal("https://reports.company-x.example/report_info ? id = 5065427 c - 23 d3# StarttlsNotSupported", printed.Policies[0].FailureDetails[1].AdditionalInformation);
        var sameUrl = printed with
        {
            Policies =
            [
                printed.Policies[0] with
                {
                    FailureDetails = printed.Policies[0].FailureDetails.Select(d => d.AdditionalInformation is null ? d : d with { AdditionalInformation = normalized.Policies[0].FailureDetails[1].AdditionalInformation }).ToList(),
                },
            ],
        };
        Assert.Equal(Encoding.UTF8.GetString(TlsRptReportSerializer.Serialize(normalized)), Encoding.UTF8.GetString(TlsRptReportSerializer.Serialize(sameUrl)));
    }

    [Fact]
    public void Parse_GoogleShapedReport_ReadsWithoutMxHost()
    {
        var report = TlsRptReportSerializer.Parse(TlsRptFixtures.Bytes(TlsRptFixtures.GoogleSts));

        Assert.Equal("Google Inc.", report.OrganizationName);
        Assert.Equal("2026-11-20T00:00:00Z_mta.example", report.ReportId);
        var policy = Assert.Single(report.Policies);
        Assert.Empty(policy.Policy.MxHosts);
        Assert.Equal("mta.example", policy.Policy.PolicyDomain);
        Assert.Equal(new TlsRptSummary(1207, 14), policy.Summary);
        Assert.Equal([TlsRptResultType.CertificateHostMismatch, TlsRptResultType.CertificateExpired], policy.FailureDetails.Select(d => d.KnownResultType!.Value));
        Assert.Equal(14, policy.FailureDetails.Sum(d => d.FailedSessionCount));
        Assert.Equal("2607:f8b0:4864:20::b2e", policy.FailureDetails[1].SendingMtaIp);
    }

    [Fact]
    public void Parse_GoogleShapedReportWithUnknownPolicyType_KeepsTheWord()
    {
        var report = TlsRptReportSerializer.Parse(TlsRptFixtures.Bytes(TlsRptFixtures.GoogleNoPolicy));

        Assert.Equal(2, report.Policies.Count);
        Assert.Equal(TlsRptPolicyType.NoPolicyFound, report.Policies[0].Policy.KnownType);
        Assert.Empty(report.Policies[0].FailureDetails);
        Assert.Equal("invalid-policy-type", report.Policies[1].Policy.PolicyType);
        Assert.Null(report.Policies[1].Policy.KnownType);
        Assert.Equal(42, report.TotalSuccessfulSessions);
        Assert.Equal(2, report.TotalFailureSessions);
    }

    [Fact]
    public void Parse_MicrosoftShapedReport_ReadsWithoutSendingMtaIpAndWithFraction()
    {
        var report = TlsRptReportSerializer.Parse(TlsRptFixtures.Bytes(TlsRptFixtures.MicrosoftSts));

        Assert.Equal("134082816000000000+mta.example", report.ReportId);
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 23, 59, 59, TimeSpan.Zero).AddTicks(9_999_999), report.DateRange.End);
        var policy = Assert.Single(report.Policies);
        Assert.Empty(policy.Policy.MxHosts);
        Assert.All(policy.FailureDetails, d => Assert.Null(d.SendingMtaIp));
        Assert.Equal("UntrustedRoot", policy.FailureDetails[1].FailureReasonCode);
        Assert.Equal(TlsRptResultType.CertificateNotTrusted, policy.FailureDetails[1].KnownResultType);
    }

    [Fact]
    public void Parse_MicrosoftShapedFetchError_ReadsWithoutPolicyString()
    {
        var report = TlsRptReportSerializer.Parse(TlsRptFixtures.Bytes(TlsRptFixtures.MicrosoftFetchError));

        var policy = Assert.Single(report.Policies);
        Assert.Empty(policy.Policy.PolicyStrings);
        Assert.Equal(TlsRptResultType.StsPolicyFetchError, Assert.Single(policy.FailureDetails).KnownResultType);
    }

    public static TheoryData<string, string> AcceptedRows() => new()
    {
        { "mx-host as a string (RFC 8460 Appendix B)", Minimal(policy: """{"policy-type":"sts","policy-domain":"mta.example","mx-host":"mx.mta.example"}""") },
        { "mx-host missing (Google, Microsoft)", Minimal(policy: """{"policy-type":"sts","policy-domain":"mta.example"}""") },
        { "mx-host null", Minimal(policy: """{"policy-type":"sts","policy-domain":"mta.example","mx-host":null}""") },
        { "policy-string as a string", Minimal(policy: """{"policy-type":"tlsa","policy-string":"3 1 1 AB","policy-domain":"mx.mta.example"}""") },
        { "sending-mta-ip missing (Microsoft)", Minimal(details: """[{"result-type":"validation-failure","failed-session-count":1}]""") },
        { "policy-domain missing for no-policy-found (Postfix)", Minimal(policy: """{"policy-type":"no-policy-found"}""") },
        { "explicit nulls (Stalwart)", Minimal(contact: "null", details: """[{"result-type":"dane-required","sending-mta-ip":null,"receiving-mx-hostname":"mx.mta.example","receiving-mx-helo":null,"receiving-ip":null,"failed-session-count":1,"additional-information":null,"failure-reason-code":null}]""") },
        { "contact-info missing", Minimal(contact: "null") },
        { "failure-details missing", Minimal(details: "null") },
        { "unknown result type", Minimal(details: """[{"result-type":"certificate-revoked","failed-session-count":1}]""") },
        { "unknown policy type", Minimal(policy: """{"policy-type":"dane-ta-only","policy-domain":"mta.example"}""") },
        { "report-id with +domain (Microsoft)", Minimal(reportId: "\"133548480000000000+mta.example\"") },
        { "report-id in angle brackets", Minimal(reportId: "\"<735ff.e317+bf22029@mailexample.net>\"") },
        { "date-times with fractions", Minimal(start: "\"2026-11-20T00:00:00.000Z\"", end: "\"2026-11-20T23:59:59.999999Z\"") },
        { "date-times with an offset", Minimal(start: "\"2026-11-20T01:00:00+01:00\"", end: "\"2026-11-21T01:00:00+01:00\"") },
        { "lower-case t and z", Minimal(start: "\"2026-11-20t00:00:00z\"") },
        { "unknown extra fields", Minimal(policy: """{"policy-type":"sts","policy-domain":"mta.example","x-extension":{"a":[1,2]}}""") },
        { "zero counts", Minimal(summary: """{"total-successful-session-count":0,"total-failure-session-count":0}""", details: "[]") },
    };

    [Theory]
    [MemberData(nameof(AcceptedRows))]
    public void Parse_AcceptedRow_ReadsTheReport(string reason, string json)
    {
        var report = TlsRptReportSerializer.Parse(json);

        Assert.True(report.Policies.Count == 1, reason);
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero), report.DateRange.Start);
    }

    [Fact]
    public void Parse_ExplicitNulls_AreReadAsUnknown()
    {
        var report = TlsRptReportSerializer.Parse(Minimal(contact: "null", details: """[{"result-type":"dane-required","sending-mta-ip":null,"failed-session-count":1,"failure-reason-code":null}]"""));

        Assert.Null(report.ContactInfo);
        var detail = Assert.Single(report.Policies[0].FailureDetails);
        Assert.Null(detail.SendingMtaIp);
        Assert.Null(detail.FailureReasonCode);
        Assert.DoesNotContain("null", Encoding.UTF8.GetString(TlsRptReportSerializer.Serialize(report)), StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> RejectedRows() => new()
    {
        { "not JSON", "{\"organization-name\":", "report" },
        { "a JSON array", "[]", "report" },
        { "two JSON values", Minimal() + " {}", "report" },
        { "organization-name missing", Minimal(organization: "null"), "organization-name" },
        { "organization-name a number", Minimal(organization: "7"), "organization-name" },
        { "report-id empty", Minimal(reportId: "\"  \""), "report-id" },
        { "start-datetime not RFC 3339", Minimal(start: "\"01/04/2016\""), "date-range.start-datetime" },
        { "end before start", Minimal(end: "\"2026-11-19T00:00:00Z\""), "date-range.end-datetime" },
        { "policies an object", $$"""{"organization-name":"S","date-range":{"start-datetime":"2026-11-20T00:00:00Z","end-datetime":"2026-11-21T00:00:00Z"},"report-id":"r","policies":{"policy":{{Policy}},"summary":{{Summary}}} }""", "policies" },
        { "policies missing", """{"organization-name":"S","date-range":{"start-datetime":"2026-11-20T00:00:00Z","end-datetime":"2026-11-21T00:00:00Z"},"report-id":"r"}""", "policies" },
        { "policy missing", Minimal(policy: "null"), "policies[0].policy" },
        { "policy-type missing", Minimal(policy: """{"policy-domain":"mta.example"}"""), "policies[0].policy.policy-type" },
        { "policy-domain missing for sts", Minimal(policy: """{"policy-type":"sts"}"""), "policies[0].policy.policy-domain" },
        { "policy-domain missing for tlsa", Minimal(policy: """{"policy-type":"tlsa","policy-string":["3 1 1 AB"]}"""), "policies[0].policy.policy-domain" },
        { "mx-host holds a number", Minimal(policy: """{"policy-type":"sts","policy-domain":"mta.example","mx-host":["mx",7]}"""), "policies[0].policy.mx-host[1]" },
        { "summary missing", Minimal(summary: "null"), "policies[0].summary" },
        { "negative count", Minimal(summary: """{"total-successful-session-count":-1,"total-failure-session-count":0}"""), "policies[0].summary.total-successful-session-count" },
        { "fractional count", Minimal(summary: """{"total-successful-session-count":1,"total-failure-session-count":0.5}"""), "policies[0].summary.total-failure-session-count" },
        { "count as a string", Minimal(summary: """{"total-successful-session-count":"1","total-failure-session-count":0}"""), "policies[0].summary.total-successful-session-count" },
        { "failure-details an object", Minimal(details: Detail), "policies[0].failure-details" },
        { "result-type missing", Minimal(details: """[{"failed-session-count":1}]"""), "policies[0].failure-details[0].result-type" },
        { "failed-session-count missing", Minimal(details: """[{"result-type":"dane-required"}]"""), "policies[0].failure-details[0].failed-session-count" },
        { "sending-mta-ip a number", Minimal(details: """[{"result-type":"dane-required","sending-mta-ip":1,"failed-session-count":1}]"""), "policies[0].failure-details[0].sending-mta-ip" },
        { "nested too deep", new string('[', 40) + new string(']', 40), "report" },
    };

    [Theory]
    [MemberData(nameof(RejectedRows))]
    public void Parse_RejectedRow_NamesTheField(string reason, string json, string field)
    {
        var e = Assert.Throws<TlsRptReportFormatException>(() => TlsRptReportSerializer.Parse(json));

        Assert.True(field == e.Field, $"{reason}: expected field {field}, got {e.Field} ({e.Message})");
        Assert.StartsWith($"tls-rpt report: {field}: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Serialize_EveryField_WritesRfcNamesArraysAndNoNulls()
    {
        var report = new TlsRptReport(
            "Sender Org",
            TlsRptDateRange.UtcDay(new DateOnly(2026, 11, 20)),
            "tlsrpt@sender.example",
            "2026-11-20_mta.example",
            [
                new TlsRptPolicyResult(
                    TlsRptReportedPolicy.From(new TlsRptPolicy(TlsRptPolicyType.Sts, "mta.example", ["version: STSv1", "mode: enforce", "mx: mx.mta.example", "max_age: 86400"], ["mx.mta.example"])),
                    new TlsRptSummary(10, 2),
                    [
                        TlsRptFailureDetail.Of(TlsRptResultType.CertificateExpired, 1, "192.0.2.1", "mx.mta.example", "192.0.2.25", "expired", "mx.mta.example", "https://sender.example/why"),
                        TlsRptFailureDetail.Of(TlsRptResultType.StartTlsNotSupported, 1, receivingMxHostname: "mx.mta.example"),
                    ]),
                new TlsRptPolicyResult(TlsRptReportedPolicy.From(TlsRptPolicy.NoPolicy("other.example")), new TlsRptSummary(3, 0), []),
            ]);

        var json = Encoding.UTF8.GetString(TlsRptReportSerializer.Serialize(report));

        Assert.Equal(
            """{"organization-name":"Sender Org","date-range":{"start-datetime":"2026-11-20T00:00:00Z","end-datetime":"2026-11-21T00:00:00Z"},"contact-info":"tlsrpt@sender.example","report-id":"2026-11-20_mta.example","policies":[""" +
            """{"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce","mx: mx.mta.example","max_age: 86400"],"policy-domain":"mta.example","mx-host":["mx.mta.example"]},"summary":{"total-successful-session-count":10,"total-failure-session-count":2},""" +
            "\"failure-details\"" + """:[{"result-type":"certificate-expired","sending-mta-ip":"192.0.2.1","receiving-mx-hostname":"mx.mta.example","receiving-mx-helo":"mx.mta.example","receiving-ip":"192.0.2.25","failed-session-count":1,"additional-information":"https://sender.example/why","failure-reason-code":"expired"},""" +
            """{"result-type":"starttls-not-supported","receiving-mx-hostname":"mx.mta.example","failed-session-count":1}]},""" +
            """{"policy":{"policy-type":"no-policy-found","policy-string":[],"policy-domain":"other.example","mx-host":[]},"summary":{"total-successful-session-count":3,"total-failure-session-count":0},"failure-details":[]}]}""",
            json);
    }

    public static TheoryData<string, TlsRptReport> InvalidReports() => new()
    {
        { "organization-name", Sample() with { OrganizationName = " " } },
        { "report-id", Sample() with { ReportId = "" } },
        { "date-range", Sample() with { DateRange = new TlsRptDateRange(DateTimeOffset.UnixEpoch.AddDays(1), DateTimeOffset.UnixEpoch) } },
        { "summary", Sample() with { Policies = [Sample().Policies[0] with { Summary = new TlsRptSummary(-1, 0) }] } },
        { "failed-session-count", Sample() with { Policies = [Sample().Policies[0] with { FailureDetails = [TlsRptFailureDetail.Of(TlsRptResultType.DaneRequired, -2)] }] } },
    };

    [Theory]
    [MemberData(nameof(InvalidReports))]
    public void Serialize_ReportBreakingTheRfc_Throws(string field, TlsRptReport report)
    {
        var e = Assert.Throws<ArgumentException>(() => TlsRptReportSerializer.Serialize(report));

        Assert.Contains(field, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(TlsRptFixtures.AppendixBJoined)]
    [InlineData(TlsRptFixtures.AppendixBNormalized)]
    [InlineData(TlsRptFixtures.GoogleSts)]
    [InlineData(TlsRptFixtures.GoogleNoPolicy)]
    [InlineData(TlsRptFixtures.MicrosoftSts)]
    [InlineData(TlsRptFixtures.MicrosoftFetchError)]
    public void SerializeThenParse_Fixture_RoundTripsUnchanged(string fixture)
    {
        var read = TlsRptReportSerializer.Parse(TlsRptFixtures.Bytes(fixture));

        var written = TlsRptReportSerializer.Serialize(read);
        var again = TlsRptReportSerializer.Parse(written);

        Assert.Equal(Encoding.UTF8.GetString(written), Encoding.UTF8.GetString(TlsRptReportSerializer.Serialize(again)));
        Assert.Equal(read.ReportId, again.ReportId);
        Assert.Equal(read.DateRange, again.DateRange);
        Assert.Equal(read.Policies.SelectMany(p => p.FailureDetails), again.Policies.SelectMany(p => p.FailureDetails));
        Assert.Equal(read.Policies.Select(p => p.Summary), again.Policies.Select(p => p.Summary));
        using var document = JsonDocument.Parse(written);
        foreach (var policy in document.RootElement.GetProperty("policies").EnumerateArray())
        {
            Assert.Equal(JsonValueKind.Array, policy.GetProperty("policy").GetProperty("policy-string").ValueKind);
            Assert.Equal(JsonValueKind.Array, policy.GetProperty("policy").GetProperty("mx-host").ValueKind);
        }
    }

    [Fact]
    public void SerializeGzip_Report_DecompressesToTheJson()
    {
        var report = Sample();

        using var gzip = new GZipStream(new MemoryStream(TlsRptReportSerializer.SerializeGzip(report)), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);

        Assert.Equal(TlsRptReportSerializer.Serialize(report), plain.ToArray());
    }

    [Theory]
    [InlineData("2016-04-01T00:00:00Z", "2016-04-01T00:00:00Z")]
    [InlineData("2016-04-01T02:00:00+02:00", "2016-04-01T00:00:00Z")]
    [InlineData("2016-04-01T23:59:59.5Z", "2016-04-01T23:59:59.5Z")]
    public void FormatDateTime_Value_IsUtcRfc3339(string input, string expected)
    {
        Assert.Equal(expected, TlsRptReportSerializer.FormatDateTime(DateTimeOffset.Parse(input, System.Globalization.CultureInfo.InvariantCulture)));
    }

    private static TlsRptReport Sample() => new(
        "Sender",
        TlsRptDateRange.UtcDay(new DateOnly(2026, 11, 20)),
        "tlsrpt@sender.example",
        "r-1",
        [new TlsRptPolicyResult(TlsRptReportedPolicy.From(TlsRptPolicy.NoPolicy("mta.example")), new TlsRptSummary(1, 1), [TlsRptFailureDetail.Of(TlsRptResultType.StartTlsNotSupported, 1)])]);
}
