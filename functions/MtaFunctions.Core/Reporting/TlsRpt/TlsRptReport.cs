namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>One SMTP TLS aggregate report (RFC 8460 §4), in the shape the code works with.</summary>
/// <remarks>
/// RFC 8460 §4: a reporting organisation tells a policy domain how its TLS sessions to that domain went over
/// a period (§4.1: SHOULD be a full UTC day). The JSON form is written by
/// <see cref="TlsRptReportSerializer.Serialize(TlsRptReport)"/> and read by
/// <see cref="TlsRptReportSerializer.Parse(ReadOnlyMemory{byte})"/>; the wire names live in
/// <see cref="TlsRptReportJson"/> only.
/// </remarks>
/// <param name="OrganizationName">organization-name: who sent the report.</param>
/// <param name="DateRange">date-range: the period the counts cover.</param>
/// <param name="ContactInfo">contact-info: an email address or URI of the sender; null when a reporter sent none (Stalwart sends <c>null</c>).</param>
/// <param name="ReportId">report-id: unique per report for the sender; (organisation, report-id) identifies a report.</param>
/// <param name="Policies">policies: one entry per policy the sessions ran under.</param>
public sealed record TlsRptReport(
    string OrganizationName,
    TlsRptDateRange DateRange,
    string? ContactInfo,
    string ReportId,
    IReadOnlyList<TlsRptPolicyResult> Policies)
{
    /// <summary>Sum of every policy's successful sessions.</summary>
    public long TotalSuccessfulSessions => Policies.Sum(p => p.Summary.TotalSuccessfulSessionCount);

    /// <summary>Sum of every policy's failed sessions.</summary>
    public long TotalFailureSessions => Policies.Sum(p => p.Summary.TotalFailureSessionCount);
}

/// <summary>date-range of a report (RFC 8460 §4.4): RFC 3339 date-times, kept in UTC.</summary>
/// <param name="Start">start-datetime.</param>
/// <param name="End">end-datetime.</param>
public sealed record TlsRptDateRange(DateTimeOffset Start, DateTimeOffset End)
{
    /// <summary>The full UTC day <paramref name="day"/> (00:00 to 24:00), the period RFC 8460 §4.1 recommends.</summary>
    public static TlsRptDateRange UtcDay(DateOnly day)
    {
        var start = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        return new TlsRptDateRange(start, start.AddDays(1));
    }
}
