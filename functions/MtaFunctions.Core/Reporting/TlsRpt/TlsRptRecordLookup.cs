namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>How looking up a domain's TLS-RPT record went.</summary>
public enum TlsRptLookupStatus
{
    /// <summary>One valid record.</summary>
    Found,

    /// <summary>No TXT record starting with v=TLSRPTv1: the domain takes no reports.</summary>
    NoRecord,

    /// <summary>More than one v=TLSRPTv1 record (RFC 8460 §3: then no reporting).</summary>
    MultipleRecords,

    /// <summary>The DNS lookup failed (SERVFAIL, timeout): try again later.</summary>
    DnsError,

    /// <summary>The record is malformed (RFC 8460 §3: then no reporting).</summary>
    RecordSyntax,
}

/// <summary>The outcome of a TLS-RPT record lookup.</summary>
/// <param name="Status">What was found.</param>
/// <param name="Record">The record when <see cref="TlsRptLookupStatus.Found"/>.</param>
/// <param name="Error">Why not, for logs.</param>
public sealed record TlsRptRecordLookup(TlsRptLookupStatus Status, TlsRptRecord? Record, string? Error)
{
    /// <summary>The DNS name of a policy domain's record: <c>_smtp._tls.&lt;domain&gt;</c> (RFC 8460 §3).</summary>
    public static string NameFor(string policyDomain) => "_smtp._tls." + policyDomain.TrimEnd('.');

    /// <summary>Picks the record from the TXT strings at <see cref="NameFor"/>.</summary>
    /// <param name="txtRecords">Every TXT record there, each with its strings joined without spaces.</param>
    public static TlsRptRecordLookup FromTxt(IEnumerable<string> txtRecords)
    {
        // RFC 8460 §3: discard records not starting with v=TLSRPTv1; unless exactly one is left, no reporting.
        var candidates = txtRecords.Where(TlsRptRecord.HasVersion).ToList();
        if (candidates.Count == 0)
        {
            return new(TlsRptLookupStatus.NoRecord, null, "no v=TLSRPTv1 record");
        }

        if (candidates.Count > 1)
        {
            return new(TlsRptLookupStatus.MultipleRecords, null, $"{candidates.Count} v=TLSRPTv1 records");
        }

        try
        {
            return new(TlsRptLookupStatus.Found, TlsRptRecord.Parse(candidates[0]), null);
        }
        catch (FormatException e)
        {
            return new(TlsRptLookupStatus.RecordSyntax, null, e.Message);
        }
    }
}
