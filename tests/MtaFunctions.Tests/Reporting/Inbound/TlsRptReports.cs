using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Tests.Reporting.Inbound;

/// <summary>Builds small reports for the inbound tests.</summary>
public static class TlsRptReports
{
    /// <summary>A report of one STS policy for <paramref name="domain"/> on <paramref name="day"/>.</summary>
    public static TlsRptReport Sts(string organization, string reportId, string domain, DateOnly day, long successful, params (string ResultType, string? MxHost, long Count)[] failures) =>
        new(
            organization,
            TlsRptDateRange.UtcDay(day),
            "tlsrpt@" + organization.ToLowerInvariant().Replace(' ', '-') + ".example",
            reportId,
            [Policy("sts", domain, successful, failures)]);

    /// <summary>One policy with its failures.</summary>
    public static TlsRptPolicyResult Policy(string type, string domain, long successful, params (string ResultType, string? MxHost, long Count)[] failures) =>
        new(
            new TlsRptReportedPolicy(type, domain, type == "sts" ? ["version: STSv1", "mode: enforce", "mx: *." + domain, "max_age: 86400"] : ["3 1 1 AB12"], type == "sts" ? ["*." + domain] : []),
            new TlsRptSummary(successful, failures.Sum(f => f.Count)),
            failures.Select(f => new TlsRptFailureDetail(f.ResultType, "192.0.2.1", f.MxHost, null, f.MxHost is null ? null : "192.0.2.25", f.Count, null, null)).ToList());

    /// <summary>The JSON of a report.</summary>
    public static byte[] Json(TlsRptReport report) => TlsRptReportSerializer.Serialize(report);
}
