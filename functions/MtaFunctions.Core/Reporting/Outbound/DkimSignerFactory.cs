using System.Text;
using MimeKit.Cryptography;
using MtaFunctions.Core.Configuration;

namespace MtaFunctions.Core.Reporting.Outbound;

/// <summary>Makes MimeKit DKIM signers from <see cref="DkimSignatureSettings"/>.</summary>
public static class DkimSignerFactory
{
    /// <summary>A signer with relaxed/relaxed canonicalization and the signing domain as identity.</summary>
    /// <remarks>
    /// RFC 8460 §3: reports MUST be DKIM-signed and the signature MUST NOT use <c>l=</c>; MimeKit's signer
    /// never writes <c>l=</c>, so the whole body is covered.
    /// </remarks>
    /// <exception cref="FormatException">The PEM text holds no private key of the algorithm.</exception>
    public static DkimSigner Create(DkimSignatureSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var algorithm = settings.Algorithm == DkimAlgorithm.RsaSha256 ? DkimSignatureAlgorithm.RsaSha256 : DkimSignatureAlgorithm.Ed25519Sha256;
        using var stream = new MemoryStream(Encoding.ASCII.GetBytes(settings.PrivateKeyPem));
        return new DkimSigner(stream, settings.Domain, settings.Selector, algorithm)
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            AgentOrUserIdentifier = "@" + settings.Domain,
        };
    }
}
