using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Reporting.Outbound;

/// <summary>Builds the RFC 8460 aggregate report of one policy domain from its counted sessions.</summary>
/// <remarks>
/// RFC 8460 §4: one <c>policies</c> element per policy the sessions ran under (same type, strings and mx
/// patterns), with the success and failure totals and one failure-details row per distinct failure (result
/// type, sending and receiving address, MX host, reason code).
/// </remarks>
public static class TlsReportBuilder
{
    /// <summary>The report; <paramref name="sessions"/> holds only the policy domain's groups.</summary>
    /// <param name="settings">Organisation and contact.</param>
    /// <param name="period">The period reported.</param>
    /// <param name="reportId">The report-id.</param>
    /// <param name="sessions">Counted groups whose policy domain is the report's.</param>
    public static TlsRptReport Build(TlsReportSettings settings, TlsReportPeriod period, string reportId, IEnumerable<KeyValuePair<TlsSessionKey, long>> sessions)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(period);
        var list = sessions.ToList();

        // Spec note: RFC 8460 §4.4 lists sending-mta-ip in every failure row, but a failure before any
        // connection (an MTA-STS fetch error, a DNSSEC failure) has no local address. Such rows carry the
        // address this reporter used most in the period towards the domain; with none known it is left out
        // rather than written as null.
        var usual = list.Where(p => p.Key.SendingIp is not null)
            .GroupBy(p => p.Key.SendingIp!)
            .OrderByDescending(g => g.Sum(p => p.Value)).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.Key)
            .FirstOrDefault();

        var policies = list
            .GroupBy(p => p.Key.Policy)
            .OrderBy(g => g.Key.Type).ThenBy(g => g.Key.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var failures = g.Where(p => p.Key.Failure is not null)
                    .GroupBy(p => (Type: p.Key.Failure!.Value, SendingIp: p.Key.SendingIp ?? usual, p.Key.ReceivingMxHostname, p.Key.ReceivingIp, p.Key.FailureReasonCode))
                    .OrderBy(f => f.Key.Type).ThenBy(f => f.Key.ReceivingMxHostname, StringComparer.Ordinal).ThenBy(f => f.Key.ReceivingIp, StringComparer.Ordinal)
                    .ThenBy(f => f.Key.SendingIp, StringComparer.Ordinal).ThenBy(f => f.Key.FailureReasonCode, StringComparer.Ordinal)
                    .Select(f => TlsRptFailureDetail.Of(
                        f.Key.Type, f.Sum(p => p.Value), f.Key.SendingIp, f.Key.ReceivingMxHostname, f.Key.ReceivingIp, f.Key.FailureReasonCode))
                    .ToList();
                return new TlsRptPolicyResult(
                    TlsRptReportedPolicy.From(g.Key),
                    new TlsRptSummary(g.Where(p => p.Key.Failure is null).Sum(p => p.Value), failures.Sum(f => f.FailedSessionCount)),
                    failures);
            })
            .ToList();

        return new TlsRptReport(settings.OrgName, period.DateRange, settings.ContactInfo, reportId, policies);
    }

    /// <summary>A new report-id: unique per report, in the <c>left@right</c> shape the Subject carries (RFC 8460 §5.3).</summary>
    public static string NewReportId(TlsReportPeriod period, string submitter) =>
        $"{period.Key}.{Guid.NewGuid():N}@{submitter}";
}
