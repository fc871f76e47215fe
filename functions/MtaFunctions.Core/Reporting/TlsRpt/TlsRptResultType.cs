namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>RFC 8460 §4.3 result types (IANA "STARTTLS Validation Result Types").</summary>
public enum TlsRptResultType
{
    StartTlsNotSupported,
    CertificateHostMismatch,
    CertificateExpired,
    CertificateNotTrusted,
    ValidationFailure,
    TlsaInvalid,
    DnssecInvalid,
    DaneRequired,
    StsPolicyFetchError,
    StsPolicyInvalid,
    StsWebPkiInvalid,
}

/// <summary>RFC 8460 §4.4 policy types.</summary>
public enum TlsRptPolicyType
{
    Sts,
    Tlsa,
    NoPolicyFound,
}

/// <summary>Wire strings of the RFC 8460 keywords.</summary>
public static class TlsRptWords
{
    private static readonly Dictionary<TlsRptResultType, string> ResultWords = new()
    {
        [TlsRptResultType.StartTlsNotSupported] = "starttls-not-supported",
        [TlsRptResultType.CertificateHostMismatch] = "certificate-host-mismatch",
        [TlsRptResultType.CertificateExpired] = "certificate-expired",
        [TlsRptResultType.CertificateNotTrusted] = "certificate-not-trusted",
        [TlsRptResultType.ValidationFailure] = "validation-failure",
        [TlsRptResultType.TlsaInvalid] = "tlsa-invalid",
        [TlsRptResultType.DnssecInvalid] = "dnssec-invalid",
        [TlsRptResultType.DaneRequired] = "dane-required",
        [TlsRptResultType.StsPolicyFetchError] = "sts-policy-fetch-error",
        [TlsRptResultType.StsPolicyInvalid] = "sts-policy-invalid",
        [TlsRptResultType.StsWebPkiInvalid] = "sts-webpki-invalid",
    };

    /// <summary>"starttls-not-supported" for <see cref="TlsRptResultType.StartTlsNotSupported"/>, and so on.</summary>
    public static string ToWire(this TlsRptResultType type) => ResultWords[type];

    /// <summary>"sts", "tlsa" or "no-policy-found".</summary>
    public static string ToWire(this TlsRptPolicyType type) => type switch
    {
        TlsRptPolicyType.Sts => "sts",
        TlsRptPolicyType.Tlsa => "tlsa",
        _ => "no-policy-found",
    };

    /// <summary>The result type of a wire string, or null for one this code does not know.</summary>
    public static TlsRptResultType? ParseResultType(string wire) =>
        ResultWords.FirstOrDefault(p => p.Value == wire) is { Value: not null } hit ? hit.Key : null;

    /// <summary>The policy type of a wire string, or null for one this code does not know.</summary>
    public static TlsRptPolicyType? ParsePolicyType(string wire) => wire switch
    {
        "sts" => TlsRptPolicyType.Sts,
        "tlsa" => TlsRptPolicyType.Tlsa,
        "no-policy-found" => TlsRptPolicyType.NoPolicyFound,
        _ => null,
    };
}
