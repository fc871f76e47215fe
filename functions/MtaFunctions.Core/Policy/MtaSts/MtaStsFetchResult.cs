using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>The outcome of one HTTPS policy fetch.</summary>
/// <param name="Policy">The parsed policy, when the fetch succeeded.</param>
/// <param name="Failure">Why it failed, as TLS-RPT reports it: sts-policy-fetch-error, sts-policy-invalid or sts-webpki-invalid.</param>
/// <param name="Error">Detail for logs and failure-reason-code.</param>
public sealed record MtaStsFetchResult(MtaStsPolicy? Policy, TlsRptResultType? Failure, string? Error)
{
    /// <summary>A fetched and valid policy.</summary>
    public static MtaStsFetchResult Success(MtaStsPolicy policy) => new(policy, null, null);

    /// <summary>A failed fetch.</summary>
    public static MtaStsFetchResult Failed(TlsRptResultType failure, string error) => new(null, failure, error);
}
