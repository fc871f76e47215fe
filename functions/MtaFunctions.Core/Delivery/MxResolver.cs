using MtaFunctions.Core.Dns;

namespace MtaFunctions.Core.Delivery;

/// <summary>The MX hosts of a domain in the order they are tried, or why there are none.</summary>
/// <param name="Hosts">Host names, most preferred first.</param>
/// <param name="Implicit">True when the domain has no MX and its own A/AAAA act as one (RFC 5321 §5.1).</param>
/// <param name="PermanentError">Set when delivery can never succeed (null MX, no such domain).</param>
/// <param name="TemporaryError">Set when the lookup failed and should be retried.</param>
public sealed record MxResolution(IReadOnlyList<string> Hosts, bool Implicit, string? PermanentError = null, string? TemporaryError = null);

/// <summary>Looks up where a domain's mail goes (RFC 5321 §5.1, RFC 7505).</summary>
public sealed class MxResolver(IDnsResolver dns)
{
    /// <summary>Resolves the MX hosts of <paramref name="domain"/>.</summary>
    public async Task<MxResolution> ResolveAsync(string domain, CancellationToken cancellationToken)
    {
        var answer = await dns.QueryMxAsync(domain, cancellationToken).ConfigureAwait(false);
        switch (answer.Status)
        {
            case DnsStatus.NotFound:
                return new MxResolution([], false, PermanentError: $"5.1.2 domain {domain} does not exist (NXDOMAIN)");
            case DnsStatus.NoRecords:
                // RFC 5321 §5.1: no MX records, the domain itself is the implicit MX.
                return new MxResolution([domain], true);
            case DnsStatus.Found:
                break;
            default:
                return new MxResolution([], false, TemporaryError: $"4.4.3 MX lookup for {domain} failed: {answer.Error}");
        }

        // RFC 7505 §3: a single MX "." with preference 0 means the domain takes no mail.
        if (answer.Records.Any(r => r.Exchange.Length == 0))
        {
            return answer.Records.Count == 1
                ? new MxResolution([], false, PermanentError: $"5.1.10 domain {domain} accepts no mail (null MX, RFC 7505)")
                : new MxResolution(Order(answer.Records.Where(r => r.Exchange.Length > 0)), false);
        }

        return new MxResolution(Order(answer.Records), false);
    }

    // RFC 5321 §5.1: lower preference first; equal preferences in random order to spread load.
    private static List<string> Order(IEnumerable<MxRecord> records) =>
        records.GroupBy(r => r.Preference)
            .OrderBy(g => g.Key)
            .SelectMany(g => g.Select(r => r.Exchange).Distinct().OrderBy(_ => Random.Shared.Next()))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
}
