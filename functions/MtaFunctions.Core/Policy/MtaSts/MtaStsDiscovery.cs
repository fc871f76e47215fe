using MtaFunctions.Core.Dns;

namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>What the <c>_mta-sts</c> lookup found.</summary>
public enum MtaStsLookupStatus
{
    /// <summary>Exactly one valid STSv1 record.</summary>
    Found,

    /// <summary>No STSv1 record (NXDOMAIN, NODATA, or only other TXT records).</summary>
    NoRecord,

    /// <summary>More than one STSv1 record: no policy (RFC 8461 §3.1).</summary>
    MultipleRecords,

    /// <summary>The lookup failed (SERVFAIL, timeout): cannot tell.</summary>
    DnsError,

    /// <summary>One STSv1 record, but it is malformed.</summary>
    RecordSyntax,
}

/// <summary>The outcome of the TXT lookup.</summary>
/// <param name="Status">What was found.</param>
/// <param name="Record">The record when <see cref="MtaStsLookupStatus.Found"/>.</param>
/// <param name="Error">Why not, for logs and reports.</param>
public sealed record MtaStsLookup(MtaStsLookupStatus Status, MtaStsRecord? Record, string? Error = null);

/// <summary>Looks up <c>_mta-sts.&lt;domain&gt;</c> (RFC 8461 §3.1).</summary>
public sealed class MtaStsDiscovery(IDnsResolver dns)
{
    /// <summary>Looks up the record of a policy domain. CNAMEs are followed by the resolver (RFC 8461 §8.2).</summary>
    public async Task<MtaStsLookup> LookupAsync(string domain, CancellationToken cancellationToken)
    {
        var answer = await dns.QueryTxtAsync($"_mta-sts.{domain}", cancellationToken).ConfigureAwait(false);
        if (answer.Status is DnsStatus.NotFound or DnsStatus.NoRecords)
        {
            return new MtaStsLookup(MtaStsLookupStatus.NoRecord, null, $"_mta-sts.{domain}: no TXT record");
        }

        if (answer.Status != DnsStatus.Found)
        {
            return new MtaStsLookup(MtaStsLookupStatus.DnsError, null, answer.Error ?? answer.Status.ToString());
        }

        // RFC 8461 §3.1: records not beginning with v=STSv1 are discarded; if other than one remains, no policy.
        var candidates = answer.Records.Where(MtaStsRecord.IsCandidate).ToList();
        if (candidates.Count == 0)
        {
            return new MtaStsLookup(MtaStsLookupStatus.NoRecord, null, $"_mta-sts.{domain}: no v=STSv1 TXT record");
        }

        if (candidates.Count > 1)
        {
            return new MtaStsLookup(MtaStsLookupStatus.MultipleRecords, null, $"_mta-sts.{domain}: {candidates.Count} v=STSv1 TXT records");
        }

        try
        {
            return new MtaStsLookup(MtaStsLookupStatus.Found, MtaStsRecord.Parse(candidates[0]));
        }
        catch (MtaStsFormatException e)
        {
            return new MtaStsLookup(MtaStsLookupStatus.RecordSyntax, null, $"_mta-sts.{domain}: {e.Message}");
        }
    }
}
