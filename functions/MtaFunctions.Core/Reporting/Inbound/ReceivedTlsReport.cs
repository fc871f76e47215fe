using System.Security.Cryptography;
using System.Text;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>A report another sender sent about our domains, checked and ready to be stored.</summary>
/// <param name="Key">Identity of the report: organisation + report-id + content digest (<see cref="KeyOf"/>); stored once.</param>
/// <param name="Report">The report as read.</param>
/// <param name="Raw">The report's JSON exactly as it arrived (after gzip), kept for audit; held in memory only when small.</param>
/// <param name="Source">How it came: <c>https</c> or <c>mail</c>.</param>
/// <param name="ReceivedAt">When it came.</param>
/// <param name="Domains">Its figures per policy domain: what the summary reads.</param>
public sealed record ReceivedTlsReport(
    string Key,
    TlsRptReport Report,
    ReceivedReportJson Raw,
    string Source,
    DateTimeOffset ReceivedAt,
    IReadOnlyList<ReceivedDomainReport> Domains)
{
    /// <summary>The UTC day the report counts for: the day its range starts on.</summary>
    public DateOnly Day => DateOnly.FromDateTime(Report.DateRange.Start.UtcDateTime);

    /// <summary>
    /// The identity of a report: a hash of the organisation (trimmed, case-insensitive), the report-id and the
    /// SHA-256 of the JSON as it arrived, in 32 hex digits, safe as a table key and a blob name.
    /// </summary>
    /// <remarks>
    /// RFC 8460 §5.5: a reporter's retry carries the same report, so it has the same key and is stored once. The
    /// digest is part of the key because organisation and report-id are predictable (Google's report-id is the
    /// day and the domain): a forged report under them must not make the genuine one a "duplicate".
    /// </remarks>
    public static string KeyOf(string organizationName, string reportId, ReadOnlySpan<byte> json) =>
        KeyOfDigest(organizationName, reportId, SHA256.HashData(json));

    /// <summary>The identity of a report whose JSON has the SHA-256 <paramref name="jsonSha256"/> (see <see cref="KeyOf(string, string, ReadOnlySpan{byte})"/>).</summary>
    public static string KeyOfDigest(string organizationName, string reportId, byte[] jsonSha256)
    {
        var text = organizationName.Trim().ToLowerInvariant() + "\n" + reportId.Trim() + "\n" + Convert.ToHexStringLower(jsonSha256);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];
    }
}

/// <summary>One report's figures for one policy domain, the unit the summary adds up.</summary>
/// <param name="Domain">The policy domain (lower case).</param>
/// <param name="Day">The UTC day the report's range starts on: the day its sessions count for.</param>
/// <param name="ReportKey">The report's key.</param>
/// <param name="OrganizationName">Who reported.</param>
/// <param name="ReportId">Its report-id.</param>
/// <param name="RangeStart">start-datetime.</param>
/// <param name="RangeEnd">end-datetime.</param>
/// <param name="SuccessfulSessions">Sum of total-successful-session-count over the domain's policies.</param>
/// <param name="FailedSessions">Sum of total-failure-session-count over the domain's policies.</param>
/// <param name="FailuresByResultType">failed-session-count per result-type.</param>
/// <param name="FailuresByMxHost">failed-session-count per receiving-mx-hostname (the IP when the host is missing).</param>
/// <param name="Policies">The domain's policies, with their summaries and failure details.</param>
public sealed record ReceivedDomainReport(
    string Domain,
    DateOnly Day,
    string ReportKey,
    string OrganizationName,
    string ReportId,
    DateTimeOffset RangeStart,
    DateTimeOffset RangeEnd,
    long SuccessfulSessions,
    long FailedSessions,
    IReadOnlyDictionary<string, long> FailuresByResultType,
    IReadOnlyDictionary<string, long> FailuresByMxHost,
    IReadOnlyList<TlsRptPolicyResult> Policies)
{
    /// <summary>The figures of <paramref name="policies"/> (all of one domain) of a report.</summary>
    /// <remarks>The sums cannot overflow: the reader keeps every report's counts under <see cref="TlsRptLimits.MaxCount"/>.</remarks>
    public static ReceivedDomainReport Of(string domain, string reportKey, TlsRptReport report, IReadOnlyList<TlsRptPolicyResult> policies)
    {
        var byType = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byHost = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var detail in policies.SelectMany(p => p.FailureDetails))
        {
            byType[detail.ResultType] = byType.GetValueOrDefault(detail.ResultType) + detail.FailedSessionCount;
            var host = detail.ReceivingMxHostname?.TrimEnd('.').ToLowerInvariant() ?? detail.ReceivingIp ?? "(not reported)";
            byHost[host] = byHost.GetValueOrDefault(host) + detail.FailedSessionCount;
        }

        return new ReceivedDomainReport(
            domain,
            DateOnly.FromDateTime(report.DateRange.Start.UtcDateTime),
            reportKey,
            report.OrganizationName,
            report.ReportId,
            report.DateRange.Start,
            report.DateRange.End,
            policies.Sum(p => p.Summary.TotalSuccessfulSessionCount),
            policies.Sum(p => p.Summary.TotalFailureSessionCount),
            byType,
            byHost,
            policies);
    }
}

/// <summary>A domain's running session totals of one UTC day, before and after a report was added.</summary>
/// <param name="Domain">The policy domain.</param>
/// <param name="Day">The UTC day.</param>
/// <param name="FailedBefore">Failed sessions before the report.</param>
/// <param name="TotalBefore">All sessions before the report.</param>
/// <param name="FailedAfter">Failed sessions with the report.</param>
/// <param name="TotalAfter">All sessions with the report.</param>
public sealed record DomainDayChange(string Domain, DateOnly Day, long FailedBefore, long TotalBefore, long FailedAfter, long TotalAfter);

/// <summary>What storing a report did.</summary>
/// <param name="Stored">False when the same report (same key) was stored before: nothing was written.</param>
/// <param name="Changes">The running totals of the report's domain-days, before and after it (empty for a duplicate).</param>
public sealed record ReceivedTlsReportWrite(bool Stored, IReadOnlyList<DomainDayChange> Changes);

/// <summary>Where received reports live; <c>Storage/ReceivedTlsReportStore</c> implements it on Tables and Blobs.</summary>
public interface IReceivedTlsReportStore
{
    /// <summary>
    /// Stores the report, its per-domain figures and its domain-days' running totals, all or nothing; a report
    /// with the same key stored before is a duplicate and writes nothing.
    /// </summary>
    /// <remarks>Safe to repeat: a retry after a crash half-way either finds the report stored or stores it whole.</remarks>
    Task<ReceivedTlsReportWrite> AddAsync(ReceivedTlsReport report, CancellationToken cancellationToken);

    /// <summary>Per-domain figures of reports whose day is in <paramref name="from"/>..<paramref name="to"/> (inclusive), for one domain or all.</summary>
    IAsyncEnumerable<ReceivedDomainReport> QueryAsync(string? domain, DateOnly from, DateOnly to, CancellationToken cancellationToken);
}
