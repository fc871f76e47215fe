using System.Net;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Policy.Dane;
using MtaFunctions.Core.Policy.MtaSts;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Policy;

/// <summary>
/// Turns settings, per-domain rules and the destination's published policies into one
/// <see cref="MxTlsPolicy"/> per MX host.
/// </summary>
/// <remarks>
/// Order of precedence, strongest first: <c>TLS-Required: No</c> on the message (RFC 8689 §5: opportunistic,
/// nothing enforced); <c>MtaSts = require</c> without a valid policy (deferred); DANE for an MX with usable
/// TLSA records (RFC 8461 §2: DANE wins over MTA-STS); an MTA-STS policy in enforce mode (also over TLSA
/// records that are all unusable); the STARTTLS / AllowInvalidCerts settings.
/// </remarks>
public sealed class TlsPolicyResolver(
    OutboundSettings settings, TrustedRoots roots, MtaStsResolver sts, ITlsSessionRecorder recorder, DaneMxPolicyResolver dane)
{
    private readonly PkixCertificateCheck _pkix = new(roots);

    /// <summary>Prepares the policy of one destination domain for one delivery attempt.</summary>
    /// <param name="domain">Recipient domain (lower case).</param>
    /// <param name="tlsRequiredNo">The message carries <c>TLS-Required: No</c>.</param>
    /// <param name="cancellationToken">Cancels lookups.</param>
    public async Task<DomainTlsPlan> ForDomainAsync(string domain, bool tlsRequiredNo, CancellationToken cancellationToken)
    {
        var tls = settings.TlsFor(domain);
        var stsPlan = tlsRequiredNo ? null : await MtaStsPlan.PrepareAsync(sts, recorder, _pkix, domain, tls.MtaSts, cancellationToken).ConfigureAwait(false);
        return new DomainTlsPlan(domain, tls, tlsRequiredNo, _pkix) { Sts = stsPlan, Dane = dane };
    }

    /// <summary>
    /// The policy of a route to a host: its own TLS requirement and a PKIX check of the host name; DANE and
    /// MTA-STS are the recipient domain's policies for its own MX hosts and do not apply to a next hop we chose.
    /// </summary>
    public MxTlsPolicy ForRoute(DeliveryRoute route)
    {
        var tls = route.ImplicitTls ? TlsRequirement.Required : route.StartTls switch
        {
            StartTlsMode.Disable => TlsRequirement.Disabled,
            StartTlsMode.Require => TlsRequirement.Required,
            _ => TlsRequirement.Opportunistic,
        };
        return new MxTlsPolicy
        {
            Tls = tls,
            Check = route.AllowInvalidCerts ? new AcceptAnyCertificateCheck(_pkix) : _pkix,
            Applied = "route",
            Detail = $"{route.Describe()} starttls={(route.ImplicitTls ? "implicit" : SettingsReader.Word(route.StartTls))} allow-invalid-certs={(route.AllowInvalidCerts ? "true" : "false")}{(route.Username is null ? "" : " auth")}",
        };
    }

    /// <summary>
    /// RFC 8461 §5.1: before recipients fail for good under an enforced MTA-STS policy, checks DNS for a new
    /// policy id; true when a new policy is now in force and one more attempt is worth making.
    /// </summary>
    public Task<bool> StsPolicyChangedAsync(string domain, CancellationToken cancellationToken) =>
        settings.TlsFor(domain).MtaSts == PolicyMode.Disable ? Task.FromResult(false) : sts.HasNewPolicyAsync(domain, cancellationToken);
}

/// <summary>The TLS policy of one destination domain for one attempt; hands out per-MX decisions.</summary>
public sealed class DomainTlsPlan
{
    private readonly PkixCertificateCheck _pkix;

    internal DomainTlsPlan(string domain, TlsSettings settings, bool tlsRequiredNo, PkixCertificateCheck pkix)
    {
        Domain = domain;
        Settings = settings;
        TlsRequiredNo = tlsRequiredNo;
        _pkix = pkix;
    }

    /// <summary>Decides the DANE part of each MX policy (RFC 7672).</summary>
    internal DaneMxPolicyResolver? Dane { get; init; }

    /// <summary>The recipient domain.</summary>
    public string Domain { get; }

    /// <summary>The effective TLS settings (defaults overridden by a rule).</summary>
    public TlsSettings Settings { get; }

    /// <summary>The message asked for no TLS enforcement (RFC 8689).</summary>
    public bool TlsRequiredNo { get; }

    /// <summary>The domain's MTA-STS state; null when MTA-STS is disabled or not looked up.</summary>
    public MtaStsPlan? Sts { get; init; }

    /// <summary>The policy for one MX host of the domain.</summary>
    /// <param name="mxHost">The MX host name.</param>
    /// <param name="addresses">Its A/AAAA answer (DANE needs to know whether it was authenticated).</param>
    /// <param name="cancellationToken">Cancels lookups.</param>
    public async Task<MxTlsPolicy> ForMxAsync(string mxHost, DnsAnswer<IPAddress> addresses, CancellationToken cancellationToken)
    {
        if (TlsRequiredNo)
        {
            // RFC 8689 §5: deliver with whatever TLS is on offer, no certificate or policy enforcement, and
            // (RFC 8460 §3) do not count the session: report mail must not feed the next report.
            return new MxTlsPolicy
            {
                Tls = TlsRequirement.Opportunistic,
                Check = new AcceptAnyCertificateCheck(_pkix),
                Applied = "tls-required-no",
                Detail = "TLS-Required: No",
                Report = null,
            };
        }

        // Seed: MtaSts = require delivers only under a valid STS policy, also where DANE applies (RFC 8461 §2
        // lets DANE decide how an MX is authenticated, not whether the required policy exists).
        if (Settings.MtaSts == PolicyMode.Require && Sts is { Resolution.HasActivePolicy: false } missing)
        {
            return missing.ForMx(mxHost, StartTlsPolicy());
        }

        // RFC 8461 §2: where DANE applies to an MX, it decides (null: DANE does not apply to this MX);
        // MTA-STS decides for the MX hosts without DANE.
        if (Dane is not null && await Dane.ForMxAsync(Domain, mxHost, addresses, Settings.Dane, cancellationToken).ConfigureAwait(false) is { } danePolicy)
        {
            // DANE without authentication (only unusable TLSA records, RFC 7672 §2.2) must not be weaker than
            // MTA-STS alone: an enforced policy still demands its MX pattern and a PKIX-valid certificate.
            if (danePolicy.Refusal is null && danePolicy.Check is TlsaUnusableCertificateCheck && Sts is { Enforced: true } enforced)
            {
                var sts = enforced.ForMx(mxHost, danePolicy);
                return sts with { Detail = $"{sts.Detail}; {danePolicy.Detail}" };
            }

            return danePolicy;
        }

        var baseline = StartTlsPolicy();
        return Sts?.ForMx(mxHost, baseline) ?? baseline;
    }

    private MxTlsPolicy StartTlsPolicy()
    {
        var tls = Settings.StartTls switch
        {
            StartTlsMode.Disable => TlsRequirement.Disabled,
            StartTlsMode.Require => TlsRequirement.Required,
            _ => TlsRequirement.Opportunistic,
        };
        return new MxTlsPolicy
        {
            Tls = tls,
            Check = Settings.AllowInvalidCerts ? new AcceptAnyCertificateCheck(_pkix) : _pkix,
            Applied = "none",
            Detail = $"starttls={SettingsReader.Word(Settings.StartTls)} allow-invalid-certs={(Settings.AllowInvalidCerts ? "true" : "false")}",
            Report = TlsRptPolicy.NoPolicy(Domain),
        };
    }
}
