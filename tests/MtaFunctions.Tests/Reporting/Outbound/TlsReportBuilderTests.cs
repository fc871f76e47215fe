using System.Text.Json;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Tests.Reporting.Outbound;

public sealed class TlsReportBuilderTests
{
    internal static readonly TlsReportSettings Settings = new()
    {
        Submitter = "mta.sender.test",
        FromName = "TLS Reports",
        FromAddress = "noreply-tls@mta.sender.test",
        OrgName = "Sender Org",
        ContactInfo = "tls-admin@mta.sender.test",
        Send = TlsReportFrequency.Daily,
        MaxSize = 1_000_000,
        Sign = [],
    };

    private static readonly TlsRptPolicy Sts = new(
        TlsRptPolicyType.Sts, "example.com", ["version: STSv1", "mode: enforce", "mx: *.mail.example.com", "max_age: 86400"], ["*.mail.example.com"]);

    private static readonly TlsRptPolicy Tlsa = new(TlsRptPolicyType.Tlsa, "mx1.mail.example.com", ["3 1 1 ABCD"], []);

    internal static Dictionary<TlsSessionKey, long> Sessions() => new()
    {
        [new(Sts, "mx1.mail.example.com", "192.0.2.10", "198.51.100.7", null, null)] = 1000,
        [new(Sts, "mx1.mail.example.com", "192.0.2.10", "198.51.100.7", TlsRptResultType.CertificateExpired, "NotTimeValid")] = 3,
        [new(Sts, "mx2.mail.example.com", "192.0.2.11", "198.51.100.7", TlsRptResultType.CertificateExpired, "NotTimeValid")] = 2,

        // A fetch failure before any connection: no addresses known.
        [new(Sts, "mx1.mail.example.com", null, null, TlsRptResultType.StsPolicyFetchError, "HTTP 404")] = 5,
        [new(TlsRptPolicy.NoPolicy("example.com"), "mx1.mail.example.com", "192.0.2.10", "198.51.100.7", null, null)] = 7,
        [new(Tlsa, "mx1.mail.example.com", "192.0.2.10", "198.51.100.7", TlsRptResultType.TlsaInvalid, "no match")] = 1,
    };

    private static readonly TlsReportPeriod Day = TlsReportPeriod.Containing(TlsReportFrequency.Daily, new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Build_Sessions_SummariesAndFailureRowsPerPolicy()
    {
        var report = TlsReportBuilder.Build(Settings, Day, "d20261127.abc@mta.sender.test", Sessions());
        Assert.Equal(3, report.Policies.Count);
        var sts = report.Policies.Single(p => p.Policy.PolicyType == "sts");
        Assert.Equal(new TlsRptSummary(1000, 10), sts.Summary);
        Assert.Equal(3, sts.FailureDetails.Count);
        Assert.Equal(["*.mail.example.com"], sts.Policy.MxHosts);
        Assert.Equal(new TlsRptSummary(7, 0), report.Policies.Single(p => p.Policy.PolicyType == "no-policy-found").Summary);
        Assert.Equal(1, report.Policies.Single(p => p.Policy.PolicyType == "tlsa").Summary.TotalFailureSessionCount);
        Assert.Equal(Day.DateRange, report.DateRange);
    }

    [Fact]
    public void Serialize_BuiltReport_HasEveryRfc8460FieldNoNullsAndArrays()
    {
        var report = TlsReportBuilder.Build(Settings, Day, "d20261127.abc@mta.sender.test", Sessions());
        using var json = JsonDocument.Parse(TlsRptReportSerializer.Serialize(report));
        var root = json.RootElement;
        AssertNoNulls(root);
        Assert.Equal("Sender Org", root.GetProperty("organization-name").GetString());
        Assert.Equal("2026-11-27T00:00:00Z", root.GetProperty("date-range").GetProperty("start-datetime").GetString());
        Assert.Equal("2026-11-28T00:00:00Z", root.GetProperty("date-range").GetProperty("end-datetime").GetString());
        Assert.Equal("tls-admin@mta.sender.test", root.GetProperty("contact-info").GetString());
        Assert.Equal("d20261127.abc@mta.sender.test", root.GetProperty("report-id").GetString());
        Assert.Equal(JsonValueKind.Array, root.GetProperty("policies").ValueKind);
        foreach (var policy in root.GetProperty("policies").EnumerateArray())
        {
            var p = policy.GetProperty("policy");
            Assert.Contains(p.GetProperty("policy-type").GetString(), new[] { "sts", "tlsa", "no-policy-found" });
            Assert.Equal(JsonValueKind.Array, p.GetProperty("policy-string").ValueKind);
            Assert.Equal(JsonValueKind.Array, p.GetProperty("mx-host").ValueKind);
            Assert.False(string.IsNullOrEmpty(p.GetProperty("policy-domain").GetString()));
            var summary = policy.GetProperty("summary");
            Assert.True(summary.GetProperty("total-successful-session-count").GetInt64() >= 0);
            Assert.True(summary.GetProperty("total-failure-session-count").GetInt64() >= 0);
            foreach (var failure in policy.GetProperty("failure-details").EnumerateArray())
            {
                Assert.NotNull(TlsRptWords.ParseResultType(failure.GetProperty("result-type").GetString()!));
                Assert.Equal("198.51.100.7", failure.GetProperty("sending-mta-ip").GetString());
                Assert.False(string.IsNullOrEmpty(failure.GetProperty("receiving-mx-hostname").GetString()));
                Assert.True(failure.GetProperty("failed-session-count").GetInt64() > 0);
            }
        }
    }

    [Fact]
    public void Parse_BuiltReport_RoundTripsThroughTheInboundReader()
    {
        var report = TlsReportBuilder.Build(Settings, Day, "d20261127.abc@mta.sender.test", Sessions());
        var back = TlsRptReportSerializer.Parse(TlsRptReportSerializer.Serialize(report));
        Assert.Equal(report.ReportId, back.ReportId);
        Assert.Equal(report.DateRange, back.DateRange);
        Assert.Equal(report.TotalSuccessfulSessions, back.TotalSuccessfulSessions);
        Assert.Equal(report.TotalFailureSessions, back.TotalFailureSessions);
        Assert.Equal(
            report.Policies.Select(p => (p.Policy.PolicyType, p.Policy.PolicyDomain, string.Join("|", p.Policy.PolicyStrings), p.Summary)),
            back.Policies.Select(p => (p.Policy.PolicyType, p.Policy.PolicyDomain, string.Join("|", p.Policy.PolicyStrings), p.Summary)));
        Assert.Equal(
            report.Policies.SelectMany(p => p.FailureDetails),
            back.Policies.SelectMany(p => p.FailureDetails));
    }

    [Fact]
    public void NewReportId_TwoReports_Differ()
    {
        var a = TlsReportBuilder.NewReportId(Day, "mta.sender.test");
        Assert.NotEqual(a, TlsReportBuilder.NewReportId(Day, "mta.sender.test"));
        Assert.EndsWith("@mta.sender.test", a, StringComparison.Ordinal);
    }

    private static void AssertNoNulls(JsonElement element)
    {
        Assert.NotEqual(JsonValueKind.Null, element.ValueKind);
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in element.EnumerateObject())
            {
                AssertNoNulls(p.Value);
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                AssertNoNulls(item);
            }
        }
    }
}
