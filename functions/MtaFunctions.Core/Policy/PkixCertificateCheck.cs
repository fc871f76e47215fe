using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Policy;

/// <summary>
/// Web PKI validation: the chain ends at a trusted root (the system store or the configured extra roots)
/// and the certificate names the MX host (RFC 6125 DNS-ID, as .NET checks it).
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

        return (context.Errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0
            ? CertificateVerdict.Refused(TlsRptResultType.CertificateHostMismatch, $"certificate does not name {context.MxHost}")
            : CertificateVerdict.Trusted();
    }
}

/// <summary>Accepts any certificate (AllowInvalidCerts, <c>TLS-Required: No</c>) but still says whether it would verify.</summary>
public sealed class AcceptAnyCertificateCheck(ICertificateCheck verifier) : ICertificateCheck
{
    /// <inheritdoc />
    public string ReuseKey => $"accept-any({verifier.ReuseKey})";

    /// <inheritdoc />
    public CertificateVerdict Check(CertificateContext context) => verifier.Check(context) with { Accept = true };
}
