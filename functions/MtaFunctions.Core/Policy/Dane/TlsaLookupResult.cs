namespace MtaFunctions.Core.Policy.Dane;

/// <summary>What the DNSSEC-aware TLSA lookup for one MX host found (RFC 7672 §2.1–§2.2).</summary>
public enum TlsaLookupStatus
{
    /// <summary>The MX host's addresses (or its TLSA RRset) are not DNSSEC-secure: DANE does not apply.</summary>
    Insecure,

    /// <summary>Secure, and the TLSA RRset is provably absent: DANE does not apply.</summary>
    NoRecords,

    /// <summary>Secure TLSA records of which at least one is usable: STARTTLS and DANE authentication are mandatory.</summary>
    Usable,

    /// <summary>Secure TLSA records, none usable: STARTTLS is mandatory, authentication is not (RFC 7672 §2.2).</summary>
    Unusable,

    /// <summary>The TLSA lookup of a secure host failed (bogus, SERVFAIL, timeout): this MX cannot be used now.</summary>
    Failed,
}

/// <summary>The outcome of a TLSA lookup for one MX host.</summary>
/// <param name="Status">What was found.</param>
/// <param name="Records">The RRset when <see cref="TlsaLookupStatus.Usable"/> or <see cref="TlsaLookupStatus.Unusable"/>.</param>
/// <param name="BaseDomain">The TLSA base domain (RFC 7672 §2.2.2): the CNAME-expanded MX host or the MX host.</param>
/// <param name="Reason">Why, for logs, status and TLS-RPT failure-reason-code.</param>
public sealed record TlsaLookupResult(TlsaLookupStatus Status, TlsaRecordSet? Records, string BaseDomain, string Reason);
