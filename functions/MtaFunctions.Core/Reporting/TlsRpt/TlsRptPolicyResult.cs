namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>One element of a report's <c>policies</c> array (RFC 8460 §4.4): a policy with its counts and failures.</summary>
/// <param name="Policy">policy: what the sessions were checked against.</param>
/// <param name="Summary">summary: successful and failed session totals.</param>
/// <param name="FailureDetails">failure-details: one row per distinct failure (RFC 8460 §4: multiple failure types, multiple entries).</param>
public sealed record TlsRptPolicyResult(
    TlsRptReportedPolicy Policy,
    TlsRptSummary Summary,
    IReadOnlyList<TlsRptFailureDetail> FailureDetails);

/// <summary>summary of a policy (RFC 8460 §4.4).</summary>
/// <param name="TotalSuccessfulSessionCount">total-successful-session-count.</param>
/// <param name="TotalFailureSessionCount">total-failure-session-count.</param>
public sealed record TlsRptSummary(long TotalSuccessfulSessionCount, long TotalFailureSessionCount);
