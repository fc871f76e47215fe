namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>
/// The ceilings a received report must stay under (RFC 8460 §7: reports are untrusted input). A report past one
/// is refused whole, naming the field; real reporters stay far below each of them.
/// </summary>
public static class TlsRptLimits
{
    /// <summary>
    /// Largest session count, and largest sum of a report's counts: 2^53 − 1, the largest integer a JSON number
    /// carries exactly (RFC 7493 §2.2), so that a report's totals never overflow and the dashboard shows them exactly.
    /// </summary>
    public const long MaxCount = 9_007_199_254_740_991;

    /// <summary>Entries in <c>policies</c> per report.</summary>
    public const int MaxPolicies = 100;

    /// <summary>Distinct policy domains per report (each is a stored row of the report's one transaction).</summary>
    public const int MaxPolicyDomains = 40;

    /// <summary>Entries in <c>failure-details</c> over the whole report.</summary>
    public const int MaxFailureDetails = 1_000;

    /// <summary>Distinct <c>result-type</c> words per report.</summary>
    public const int MaxResultTypes = 50;

    /// <summary>Distinct receiving MX hosts (or IPs) per report.</summary>
    public const int MaxMxHosts = 100;

    /// <summary>Entries in a <c>policy-string</c> or <c>mx-host</c> array.</summary>
    public const int MaxStrings = 100;

    /// <summary>Characters in a word (policy-type, result-type).</summary>
    public const int MaxWordLength = 64;

    /// <summary>Characters in any other text field (organization-name, report-id, contact-info, a policy string, ...).</summary>
    public const int MaxTextLength = 1_024;
}
