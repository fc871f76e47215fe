using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Dns;

namespace MtaFunctions.Core.Policy.Dane;

/// <summary>The verdict on the configured resolver: can DANE work with it?</summary>
/// <param name="Validating">True when a trusted resolver returned an authenticated answer for the probe name.</param>
/// <param name="Message">What was found and, when DANE is unavailable, what to do about it.</param>
public sealed record DaneResolverStatus(bool Validating, string Message);

/// <summary>
/// Asks the resolver about a DNSSEC-signed name and reports whether it validates, so that a resolver that does
/// not is reported loudly ("DANE unavailable") instead of silently skipping DANE everywhere.
/// </summary>
/// <remarks>
/// RFC 7672 §2.1.3: a stub resolver may rely only on the AD bit of a validating resolver it trusts. The probe
/// asks TXT of <c>Dns:DnssecProbeName</c> (the root by default: an authenticated NODATA is enough) and expects
/// AD from a resolver listed in <c>Dns:TrustedValidators</c> (or, with <c>Dns:Dnssec = in-process</c>, an answer
/// validated here). Without it no answer is ever secure, so DANE never applies (and <c>dane=require</c> defers
/// everything).
/// </remarks>
public sealed class DaneResolverProbe(IDnsResolver dns, DnsSettings settings)
{
    /// <summary>Runs the probe.</summary>
    public async Task<DaneResolverStatus> ProbeAsync(CancellationToken cancellationToken)
    {
        var servers = settings.Servers.Count > 0 ? string.Join(", ", settings.Servers) : "the system's resolvers";
        var inProcess = settings.Dnssec == DnssecValidation.InProcess;
        if (!inProcess && settings.TrustedValidators.Count == 0)
        {
            return new(false,
                $"DANE unavailable: {SettingKeys.DnsTrustedValidators} is empty, so no DNSSEC answer from {servers} is believed. " +
                $"Point {SettingKeys.DnsServers} at a validating resolver (e.g. Unbound on 127.0.0.1) and list it in {SettingKeys.DnsTrustedValidators}.");
        }

        var answer = await dns.QueryTxtAsync(settings.DnssecProbeName, cancellationToken).ConfigureAwait(false);
        if (!answer.Status.IsDefinite())
        {
            return new(false,
                $"DANE unavailable: probe TXT {settings.DnssecProbeName} via {servers} failed ({answer.Status}: {answer.Error}). " +
                "A validating resolver answers SERVFAIL for bogus data; check the resolver and its trust anchor.");
        }

        if (inProcess)
        {
            return answer.Authenticated
                ? new(true, $"DNSSEC validation works: {settings.DnssecProbeName} validated in-process from the root trust anchors via {servers}; DANE is available")
                : new(false,
                    $"DANE unavailable: {settings.DnssecProbeName} did not validate in-process via {servers} ({answer.Status}). The resolver must return " +
                    $"RRSIG, DNSKEY and DS records when asked with the DO bit, and {SettingKeys.DnsTrustAnchors} must hold the root's DS records.");
        }

        return answer.Authenticated
            ? new(true, $"DNSSEC validation works: {settings.DnssecProbeName} is authenticated by a trusted resolver ({string.Join(", ", settings.TrustedValidators)}); DANE is available")
            : new(false,
                $"DANE unavailable: {servers} answered TXT {settings.DnssecProbeName} without the AD flag, or from a resolver not in " +
                $"{SettingKeys.DnsTrustedValidators} ({string.Join(", ", settings.TrustedValidators)}): it does not validate DNSSEC. " +
                $"Point {SettingKeys.DnsServers} at a validating resolver and list it in {SettingKeys.DnsTrustedValidators}.");
    }
}
