namespace MtaFunctions.Core.Operations;

/// <summary>The TLS posture of a destination domain as this MTA sees it (<c>mta check DOMAIN</c>).</summary>
/// <param name="Domain">The domain checked (A-labels).</param>
/// <param name="Mx">Its MX set.</param>
/// <param name="Sts">Its MTA-STS record and policy, fetched now.</param>
/// <param name="TlsRpt">Its TLSRPT record.</param>
/// <param name="Hosts">Per MX host: addresses, TLSA, the policy delivery would apply, and a live probe per address.</param>
/// <param name="Verdict">What delivery would do, and why.</param>
public sealed record DomainPosture(
    string Domain, MxPosture Mx, StsPosture Sts, TlsRptPosture TlsRpt, IReadOnlyList<MxHostPosture> Hosts, DeliveryVerdict Verdict);

/// <summary>The MX lookup.</summary>
/// <param name="Hosts">Host names in the order delivery tries them.</param>
/// <param name="Implicit">No MX: the domain itself (RFC 5321 §5.1).</param>
/// <param name="Error">A permanent (NXDOMAIN, null MX) or temporary (DNS failure) error.</param>
public sealed record MxPosture(IReadOnlyList<string> Hosts, bool Implicit, string? Error);

/// <summary>MTA-STS (RFC 8461): the TXT record and the policy fetched now.</summary>
/// <param name="Record"><c>found</c>, <c>none</c>, <c>multiple</c>, <c>dns-error</c>, <c>syntax</c>.</param>
/// <param name="Id">The record's id.</param>
/// <param name="RecordError">Why the record is not usable.</param>
/// <param name="Mode">The fetched policy's mode.</param>
/// <param name="MxPatterns">Its mx patterns.</param>
/// <param name="MaxAge">Its max_age in seconds.</param>
/// <param name="FetchError">Why the fetch failed (RFC 8460 result type and detail).</param>
public sealed record StsPosture(
    string Record, string? Id, string? RecordError, string? Mode, IReadOnlyList<string> MxPatterns, long? MaxAge, string? FetchError);

/// <summary>SMTP TLS Reporting (RFC 8460): the <c>_smtp._tls</c> record.</summary>
/// <param name="Record"><c>found</c>, <c>none</c>, <c>multiple</c>, <c>dns-error</c>, <c>syntax</c>.</param>
/// <param name="Rua">The reporting URIs.</param>
/// <param name="Error">Why the record is not usable.</param>
public sealed record TlsRptPosture(string Record, IReadOnlyList<string> Rua, string? Error);

/// <summary>One MX host.</summary>
/// <param name="Host">The MX host name.</param>
/// <param name="Addresses">Its A/AAAA addresses.</param>
/// <param name="AddressLookup"><c>found</c> or the DNS status and error.</param>
/// <param name="DnssecSecure">Whether the A/AAAA answer was DNSSEC-authenticated by a trusted validator.</param>
/// <param name="Tlsa">The TLSA lookup (RFC 7672).</param>
/// <param name="Policy">The policy delivery would apply to this host.</param>
/// <param name="Probes">A live SMTP probe per address.</param>
public sealed record MxHostPosture(
    string Host, IReadOnlyList<string> Addresses, string AddressLookup, bool DnssecSecure, TlsaPosture? Tlsa, PolicyPosture? Policy,
    IReadOnlyList<SmtpProbe> Probes);

/// <summary>The TLSA lookup of one MX host.</summary>
/// <param name="Status"><c>insecure</c>, <c>no-records</c>, <c>usable</c>, <c>unusable</c>, <c>failed</c>.</param>
/// <param name="BaseDomain">The TLSA base domain.</param>
/// <param name="Records">Each record and whether it is usable.</param>
/// <param name="Reason">Why, as delivery logs it.</param>
public sealed record TlsaPosture(string Status, string BaseDomain, IReadOnlyList<TlsaRecordPosture> Records, string Reason);

/// <summary>One TLSA record.</summary>
/// <param name="Record">Presentation form.</param>
/// <param name="Usable">Usable for SMTP (RFC 7672 §3.1).</param>
/// <param name="Reason">Why not.</param>
public sealed record TlsaRecordPosture(string Record, bool Usable, string? Reason);

/// <summary>The policy delivery would apply to one MX host.</summary>
/// <param name="Applied">dane, dane-unusable, sts, none, ...</param>
/// <param name="Tls">STARTTLS: required, opportunistic, disabled.</param>
/// <param name="Detail">Modes, STS id, TLSA records.</param>
/// <param name="Refusal">Set when delivery would not use this host at all, with why.</param>
public sealed record PolicyPosture(string Applied, string Tls, string? Detail, string? Refusal);

/// <summary>A live SMTP probe of one MX address: EHLO, STARTTLS, handshake, QUIT; no mail is sent.</summary>
/// <param name="Address">The address.</param>
/// <param name="Error">Why the probe did not complete (connect, greeting, handshake), or why it was skipped.</param>
/// <param name="StartTlsOffered">Whether EHLO offered STARTTLS.</param>
/// <param name="TlsVersion">Negotiated protocol.</param>
/// <param name="Cipher">Negotiated cipher suite.</param>
/// <param name="Chain">The certificates the server sent, leaf first.</param>
/// <param name="Pkix">Verdict under the web PKI for the MX host name.</param>
/// <param name="Dane">Verdict under the host's TLSA records (when usable ones exist).</param>
/// <param name="Sts">Verdict under the domain's MTA-STS policy (when one is in force).</param>
/// <param name="Delivery">Whether delivery would send to this address under the applied policy, and why.</param>
public sealed record SmtpProbe(
    string Address, string? Error, bool? StartTlsOffered, string? TlsVersion, string? Cipher, IReadOnlyList<CertificatePosture> Chain,
    CertificateVerdictPosture? Pkix, CertificateVerdictPosture? Dane, CertificateVerdictPosture? Sts, ProbeDelivery Delivery);

/// <summary>One certificate the server sent.</summary>
public sealed record CertificatePosture(string Subject, string Issuer, DateTimeOffset NotBefore, DateTimeOffset NotAfter, string Sha256);

/// <summary>How a certificate fares under one policy.</summary>
/// <param name="Verified">Authenticated.</param>
/// <param name="Failure">The RFC 8460 result type when not.</param>
/// <param name="Reason">Detail.</param>
/// <param name="Matched">DANE: the TLSA record that matched.</param>
public sealed record CertificateVerdictPosture(bool Verified, string? Failure, string? Reason, string? Matched);

/// <summary>Whether delivery would use one address, and why.</summary>
public sealed record ProbeDelivery(bool WouldSend, string Why);

/// <summary>What delivery would do for the domain now.</summary>
/// <param name="Deliverable">A host would take the message under its policy.</param>
/// <param name="Host">The first host (in MX order) that would.</param>
/// <param name="Address">Its address.</param>
/// <param name="Policy">The policy applied there.</param>
/// <param name="Why">The reasoning, or why every host fails.</param>
public sealed record DeliveryVerdict(bool Deliverable, string? Host, string? Address, string? Policy, string Why);
