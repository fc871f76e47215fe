namespace MtaFunctions.Core.Policy.Dane;

/// <summary>RFC 6698 §2.1.1 certificate usage (RFC 7218 acronyms).</summary>
public enum TlsaUsage : byte
{
    /// <summary>PKIX-TA(0): unusable for SMTP (RFC 7672 §3.1.3).</summary>
    PkixTa = 0,

    /// <summary>PKIX-EE(1): unusable for SMTP (RFC 7672 §3.1.3).</summary>
    PkixEe = 1,

    /// <summary>DANE-TA(2): a trust anchor the server's chain must lead to (RFC 7672 §3.1.2).</summary>
    DaneTa = 2,

    /// <summary>DANE-EE(3): the server's own certificate or key (RFC 7672 §3.1.1).</summary>
    DaneEe = 3,
}

/// <summary>RFC 6698 §2.1.2 selector.</summary>
public enum TlsaSelector : byte
{
    /// <summary>Cert(0): the whole DER certificate.</summary>
    Cert = 0,

    /// <summary>SPKI(1): the DER SubjectPublicKeyInfo.</summary>
    Spki = 1,
}

/// <summary>RFC 6698 §2.1.3 matching type.</summary>
public enum TlsaMatchingType : byte
{
    /// <summary>Full(0): the selected content itself.</summary>
    Full = 0,

    /// <summary>SHA2-256(1).</summary>
    Sha256 = 1,

    /// <summary>SHA2-512(2).</summary>
    Sha512 = 2,
}
