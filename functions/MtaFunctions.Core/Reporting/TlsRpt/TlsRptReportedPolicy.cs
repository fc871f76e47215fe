namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>The <c>policy</c> object of a report (RFC 8460 §4.4), as a report carries it.</summary>
/// <remarks>
/// Unlike <see cref="TlsRptPolicy"/>, which is what our own sessions ran under, this keeps the policy type as the
/// wire word, so that a received report with a type this code does not know is kept as it is; and its domain
/// may be missing, as in reports of Postfix's reporter for <c>no-policy-found</c>.
/// </remarks>
/// <param name="PolicyType">policy-type: <c>sts</c>, <c>tlsa</c>, <c>no-policy-found</c>, or a word of a newer reporter.</param>
/// <param name="PolicyDomain">policy-domain in A-labels; null when the reporter left it out.</param>
/// <param name="PolicyStrings">policy-string: one element per STS policy line or per TLSA record (RFC 8460 §4.5).</param>
/// <param name="MxHosts">mx-host: the STS policy's mx patterns.</param>
public sealed record TlsRptReportedPolicy(
    string PolicyType,
    string? PolicyDomain,
    IReadOnlyList<string> PolicyStrings,
    IReadOnlyList<string> MxHosts)
{
    /// <summary>The policy type as <see cref="TlsRptPolicyType"/>, or null for a word this code does not know.</summary>
    public TlsRptPolicyType? KnownType => TlsRptWords.ParsePolicyType(PolicyType);

    /// <summary>The reported form of a policy our sessions ran under.</summary>
    public static TlsRptReportedPolicy From(TlsRptPolicy policy) =>
        new(policy.Type.ToWire(), policy.Domain, policy.Strings, policy.MxHostPatterns);
}
