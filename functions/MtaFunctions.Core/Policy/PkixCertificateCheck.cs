using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Policy;

/// <summary>
/// Web PKI validation: the chain ends at a trusted root (the system store or the configured extra roots), the
/// certificate may authenticate TLS servers (serverAuth EKU) and a SAN DNS-ID names the MX host (RFC 6125).
/// </summary>
public sealed class PkixCertificateCheck(TrustedRoots roots) : ICertificateCheck
{
    /// <inheritdoc />
    public string ReuseKey => "pkix";

    /// <inheritdoc />
    public CertificateVerdict Check(CertificateContext context)
    {
        if ((context.Errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return CertificateVerdict.Refused(TlsRptResultType.ValidationFailure, "the server sent no certificate");
        }

        var chainStatus = roots.Validate(context.Leaf, context.PeerChain, (context.Errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0);
        if (chainStatus is not null)
        {
            return chainStatus;
        }

        // RFC 8461 §4.2 via RFC 6125 §6.4.4: the MX host must be a DNS-ID of the subject alternative names; a
        // matching common name alone does not count (the platform's own check may fall back to it).
        return (context.Errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0 || !NamesHost(context.Leaf, context.MxHost)
            ? CertificateVerdict.Refused(TlsRptResultType.CertificateHostMismatch, $"certificate does not name {context.MxHost} (DNS-ID)")
            : CertificateVerdict.Trusted();
    }

    /// <summary>True when a subject alternative name DNS-ID of <paramref name="certificate"/> matches <paramref name="host"/> (never the CN).</summary>
    public static bool NamesHost(X509Certificate2 certificate, string host) =>
        certificate.MatchesHostname(host, allowWildcards: true, allowCommonName: false);
}

/// <summary>Accepts any certificate (AllowInvalidCerts, <c>TLS-Required: No</c>) but still says whether it would verify.</summary>
public sealed class AcceptAnyCertificateCheck(ICertificateCheck verifier) : ICertificateCheck
{
    /// <inheritdoc />
    public string ReuseKey => $"accept-any({verifier.ReuseKey})";

    /// <inheritdoc />
    public CertificateVerdict Check(CertificateContext context) => verifier.Check(context) with { Accept = true };
}
