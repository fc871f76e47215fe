using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Policy;

/// <summary>How one MX host must be talked to: the outcome of settings, rules, MTA-STS and DANE for that host.</summary>
public sealed record MxTlsPolicy
{
    /// <summary>STARTTLS use.</summary>
    public required TlsRequirement Tls { get; init; }

    /// <summary>How the certificate is judged when TLS is used.</summary>
    public required ICertificateCheck Check { get; init; }

    /// <summary>Name of the policy applied, shown by status: none, sts, dane, tls-required-no.</summary>
    public required string Applied { get; init; }

    /// <summary>
    /// The TLS SNI name when it is not the MX host name: under DANE the TLSA base domain, which for a CNAME'd
    /// MX host is the expanded name (RFC 7672 §8.1). Read by SmtpSender.
    /// </summary>
    public string? ServerName { get; init; }

    /// <summary>Human detail: modes, STS id, TLSA records.</summary>
    public string? Detail { get; init; }

    /// <summary>An MTA-STS policy in enforce mode decided this MX (RFC 8461 §5.1: its failures re-check the policy id before they become final).</summary>
    public bool StsEnforced { get; init; }

    /// <summary>The policy as TLS-RPT reports it; null when this session must not be counted (report mail).</summary>
    public TlsRptPolicy? Report { get; init; }

    /// <summary>
    /// A policy failure known before the session that does not stop it (MTA-STS testing: the MX is not in the
    /// policy, RFC 8461 §5): TLS-RPT records it as the session's result, with the session's addresses.
    /// </summary>
    public (TlsRptResultType Type, string Reason)? ReportedFailure { get; init; }

    /// <summary>
    /// When set, this MX must not be used now (MX not in an enforced STS policy, DANE lookup failed, ...):
    /// the attempt is recorded with this result type and the next MX is tried.
    /// </summary>
    public (TlsRptResultType Type, string Reason)? Refusal { get; init; }
}
