using System.Net;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Policy.Dane;

/// <summary>
/// Decides the DANE part of one MX host's policy (RFC 7672): mandatory authenticated TLS, mandatory
/// unauthenticated TLS, "cannot use this MX now", or "DANE does not apply" (null).
/// </summary>
/// <remarks>
/// Where this returns a policy, it is final for that MX: DANE wins over MTA-STS (RFC 8461 §2) and over
/// AllowInvalidCerts. <c>disable</c> never asks for TLSA; <c>require</c> refuses an MX without usable DANE
/// (<c>dane-required</c>, RFC 7672 §6). TLS-RPT counts the sessions under policy type <c>tlsa</c> with the
/// TLSA base domain as policy domain (RFC 8460 §1.1, §4.4).
/// </remarks>
public sealed class DaneMxPolicyResolver(TlsaLookup lookup)
{
    /// <summary>The DANE policy of <paramref name="mxHost"/>, or null when DANE does not apply to it.</summary>
    /// <param name="domain">The recipient domain (a reference identifier for DANE-TA).</param>
    /// <param name="mxHost">The MX host name.</param>
    /// <param name="addresses">Its A/AAAA answer.</param>
    /// <param name="mode">The effective <c>Queue:Outbound:Tls:Dane</c> of the domain.</param>
    /// <param name="cancellationToken">Cancels the lookups.</param>
    public async Task<MxTlsPolicy?> ForMxAsync(
        string domain, string mxHost, DnsAnswer<IPAddress> addresses, PolicyMode mode, CancellationToken cancellationToken)
    {
        if (mode == PolicyMode.Disable)
        {
            return null;
        }

        var result = await lookup.LookupAsync(mxHost, addresses, cancellationToken).ConfigureAwait(false);
        var report = new TlsRptPolicy(TlsRptPolicyType.Tlsa, result.BaseDomain, result.Records?.PresentationStrings ?? [], []);
        switch (result.Status)
        {
            case TlsaLookupStatus.Usable:
                // RFC 7672 §2.2: usable TLSA records make STARTTLS and DANE authentication mandatory; PKIX is not used.
                var references = new[] { result.BaseDomain, mxHost, domain }.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
                return new MxTlsPolicy
                {
                    Tls = TlsRequirement.Required,
                    Check = new DaneCertificateCheck(result.Records!, references),
                    Applied = "dane",
                    ServerName = result.BaseDomain, // RFC 7672 §8.1: SNI = TLSA base domain
                    Detail = $"dane={SettingsReader.Word(mode)} tlsa _25._tcp.{result.BaseDomain}: {string.Join(", ", result.Records!.PresentationStrings)}",
                    Report = report,
                };
            case TlsaLookupStatus.Unusable when mode != PolicyMode.Require:
                // RFC 7672 §2.2: TLSA records exist but none is usable: encrypt, without authentication.
                return new MxTlsPolicy
                {
                    Tls = TlsRequirement.Required,
                    Check = new TlsaUnusableCertificateCheck(result.Records!),
                    Applied = "dane-unusable",
                    ServerName = result.BaseDomain,
                    Detail = $"dane={SettingsReader.Word(mode)} {result.Reason}",
                    Report = report,
                };
            case TlsaLookupStatus.Failed:
                // RFC 7672 §2.1.1: no downgrade; RFC 8460 §4.3.2.1 dnssec-invalid: no valid records from the resolver.
                return Refused(report, mode, TlsRptResultType.DnssecInvalid, result.Reason);
            case TlsaLookupStatus.Unusable:
            case TlsaLookupStatus.Insecure or TlsaLookupStatus.NoRecords when mode == PolicyMode.Require:
                // RFC 7672 §6 / RFC 8460 §4.3.2.1 dane-required: local policy demands DANE for this destination.
                return Refused(report, mode, TlsRptResultType.DaneRequired, $"DANE required for {domain}: {result.Reason}");
            default:
                return null;
        }
    }

    private static MxTlsPolicy Refused(TlsRptPolicy report, PolicyMode mode, TlsRptResultType type, string reason) => new()
    {
        Tls = TlsRequirement.Required,
        Check = new DaneCertificateCheck(new TlsaRecordSet(report.Domain, []), []),
        Applied = "dane",
        Detail = $"dane={SettingsReader.Word(mode)} {reason}",
        Report = report,
        Refusal = (type, reason),
    };
}
