using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Reporting.Outbound;

/// <summary>One TLS session attempt (or a policy failure that prevented one), as TLS-RPT counts it.</summary>
/// <param name="Policy">The policy the session ran under.</param>
/// <param name="ReceivingMxHostname">The MX host name.</param>
/// <param name="ReceivingIp">The MX address, when a connection was made or planned.</param>
/// <param name="SendingIp">Our local address of the session, when known.</param>
/// <param name="Failure">Null for a successful session; else the RFC 8460 result type.</param>
/// <param name="FailureReasonCode">Free text (failure-reason-code), e.g. a chain status or TLS alert.</param>
public sealed record TlsSessionResult(
    TlsRptPolicy Policy,
    string ReceivingMxHostname,
    string? ReceivingIp,
    string? SendingIp,
    TlsRptResultType? Failure,
    string? FailureReasonCode = null);

/// <summary>Takes every TLS session result for TLS-RPT aggregate reports.</summary>
public interface ITlsSessionRecorder
{
    /// <summary>Counts one session. Must be cheap: it runs on the delivery path.</summary>
    void Record(TlsSessionResult result);
}
