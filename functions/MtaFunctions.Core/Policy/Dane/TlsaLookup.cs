using System.Net;
using MtaFunctions.Core.Dns;

namespace MtaFunctions.Core.Policy.Dane;

/// <summary>
/// Finds the DNSSEC-validated TLSA records of one MX host, never mistaking a failure for "no records".
/// </summary>
/// <remarks>
/// RFC 7672 §2.2.2: the MX host's A/AAAA are looked up first; only when they are secure is TLSA asked for, at
/// <c>_25._tcp.</c> of the CNAME-expanded name, then of the original name. Insecure addresses skip TLSA (large
/// providers answer TLSA from unsigned zones with SERVFAIL). A secure host whose TLSA lookup fails is
/// <see cref="TlsaLookupStatus.Failed"/>: RFC 7672 §2.1.1 forbids a downgrade. "Secure" means the AD bit from
/// a resolver named in <c>Dns:TrustedValidators</c> (the resolver seam drops any other AD).
/// </remarks>
public sealed class TlsaLookup(IDnsResolver dns)
{
    /// <summary>Looks up the TLSA records of <paramref name="mxHost"/>.</summary>
    /// <param name="mxHost">The MX host name.</param>
    /// <param name="addresses">Its A/AAAA answer, already looked up for the connection.</param>
    /// <param name="cancellationToken">Cancels the lookups.</param>
    public async Task<TlsaLookupResult> LookupAsync(string mxHost, DnsAnswer<IPAddress> addresses, CancellationToken cancellationToken)
    {
        // RFC 7672 §2.2.2: insecure A/AAAA records mean no TLSA lookup at all.
        if (!addresses.Status.IsDefinite())
        {
            return new(TlsaLookupStatus.Failed, null, mxHost, $"address lookup of {mxHost} failed: {addresses.Error}");
        }

        if (!addresses.Authenticated)
        {
            return new(TlsaLookupStatus.Insecure, null, mxHost, $"the addresses of {mxHost} are not DNSSEC-validated");
        }

        // RFC 7672 §2.2.2: with a secure CNAME chain, the expanded name is tried first, then the original.
        var expanded = string.IsNullOrEmpty(addresses.CanonicalName) ? mxHost : addresses.CanonicalName;
        var candidates = string.Equals(expanded, mxHost, StringComparison.OrdinalIgnoreCase) ? [mxHost] : new[] { expanded, mxHost };
        TlsaLookupResult? insecure = null;
        foreach (var baseDomain in candidates)
        {
            var owner = $"_25._tcp.{baseDomain}";
            var answer = await dns.QueryTlsaAsync(owner, cancellationToken).ConfigureAwait(false);

            // RFC 7672 §2.1.1: bogus, SERVFAIL or timeout on a secure host is "indeterminate": no downgrade.
            if (!answer.Status.IsDefinite())
            {
                return new(TlsaLookupStatus.Failed, null, baseDomain, $"TLSA lookup of {owner} failed ({answer.Status}): {answer.Error}");
            }

            // RFC 7672 §2.2: only a validated TLSA RRset (or validated denial) counts; §2.2.2: an insecure
            // answer at the expanded name moves on to the original name.
            if (!answer.Authenticated)
            {
                insecure ??= new(TlsaLookupStatus.Insecure, null, baseDomain, $"TLSA of {owner} is not DNSSEC-validated");
                continue;
            }

            if (answer.Status != DnsStatus.Found)
            {
                continue;
            }

            var set = new TlsaRecordSet(baseDomain, answer.Records.Select(TlsaRecord.From).ToList());
            return set.HasUsable
                ? new(TlsaLookupStatus.Usable, set, baseDomain, $"{set.Effective.Count} usable TLSA record(s) at {owner}")
                : new(TlsaLookupStatus.Unusable, set, baseDomain,
                    $"no usable TLSA record at {owner}: {string.Join("; ", set.All.Select(r => $"{r}: {r.UnusableReason ?? "weaker digest (RFC 7671 §9)"}"))}");
        }

        return insecure ?? new(TlsaLookupStatus.NoRecords, null, expanded, $"no TLSA records at _25._tcp.{string.Join(" or _25._tcp.", candidates)} (validated denial)");
    }
}
