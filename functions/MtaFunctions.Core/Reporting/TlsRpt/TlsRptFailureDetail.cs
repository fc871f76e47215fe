namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>One element of a policy's <c>failure-details</c> (RFC 8460 §4.4): a failure and how often it happened.</summary>
/// <remarks>
/// Optional fields are null when unknown; the writer then leaves them out instead of writing <c>null</c>
/// (RFC 8460 §4.4 describes strings; strict parsers refuse nulls).
/// </remarks>
/// <param name="ResultType">result-type: a §4.3 word; a word this code does not know is kept as it is.</param>
/// <param name="SendingMtaIp">sending-mta-ip: our address of the session (Microsoft leaves it out).</param>
/// <param name="ReceivingMxHostname">receiving-mx-hostname: the MX host attempted.</param>
/// <param name="ReceivingMxHelo">receiving-mx-helo: the name the MX gave in its greeting (optional in §4.4).</param>
/// <param name="ReceivingIp">receiving-ip: the MX address attempted.</param>
/// <param name="FailedSessionCount">failed-session-count: sessions that failed this way.</param>
/// <param name="AdditionalInformation">additional-information: a URI with more about the failure.</param>
/// <param name="FailureReasonCode">failure-reason-code: free text, e.g. a TLS error code (§4.3: SHOULD accompany validation-failure and certificate-not-trusted).</param>
public sealed record TlsRptFailureDetail(
    string ResultType,
    string? SendingMtaIp,
    string? ReceivingMxHostname,
    string? ReceivingMxHelo,
    string? ReceivingIp,
    long FailedSessionCount,
    string? AdditionalInformation,
    string? FailureReasonCode)
{
    /// <summary>The result type as <see cref="TlsRptResultType"/>, or null for a word this code does not know.</summary>
    public TlsRptResultType? KnownResultType => TlsRptWords.ParseResultType(ResultType);

    /// <summary>A failure row of one of our own result types.</summary>
    public static TlsRptFailureDetail Of(
        TlsRptResultType resultType,
        long failedSessionCount,
        string? sendingMtaIp = null,
        string? receivingMxHostname = null,
        string? receivingIp = null,
        string? failureReasonCode = null,
        string? receivingMxHelo = null,
        string? additionalInformation = null) =>
        new(resultType.ToWire(), sendingMtaIp, receivingMxHostname, receivingMxHelo, receivingIp, failedSessionCount, additionalInformation, failureReasonCode);
}
