using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MtaFunctions.Core.Policy.Dane;

/// <summary>
/// Checks a certificate's signature against a bare public key, for DANE-TA "2 1 0" anchors that exist only as
/// a key in DNS (RFC 7671 §5.2.3): no certificate of the anchor exists to build a chain to.
/// </summary>
public static class CertificateSignature
{
    /// <summary>True when <paramref name="certificate"/> was signed by the key in <paramref name="subjectPublicKeyInfo"/> (DER).</summary>
    /// <remarks>ECDSA and RSA PKCS#1 v1.5 with SHA-256/384/512; other algorithms are reported as not signed.</remarks>
    public static bool IsSignedBy(X509Certificate2 certificate, byte[] subjectPublicKeyInfo)
    {
        try
        {
            // RFC 5280 §4.1: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
            var outer = new AsnReader(certificate.RawData, AsnEncodingRules.DER).ReadSequence();
            var tbs = outer.ReadEncodedValue();
            var algorithm = outer.ReadSequence().ReadObjectIdentifier();
            var signature = outer.ReadBitString(out _);
            var key = PublicKey.CreateFromSubjectPublicKeyInfo(subjectPublicKeyInfo, out _);
            return algorithm switch
            {
                "1.2.840.10045.4.3.2" => VerifyEcdsa(key, tbs.Span, signature, HashAlgorithmName.SHA256),
                "1.2.840.10045.4.3.3" => VerifyEcdsa(key, tbs.Span, signature, HashAlgorithmName.SHA384),
                "1.2.840.10045.4.3.4" => VerifyEcdsa(key, tbs.Span, signature, HashAlgorithmName.SHA512),
                "1.2.840.113549.1.1.11" => VerifyRsa(key, tbs.Span, signature, HashAlgorithmName.SHA256),
                "1.2.840.113549.1.1.12" => VerifyRsa(key, tbs.Span, signature, HashAlgorithmName.SHA384),
                "1.2.840.113549.1.1.13" => VerifyRsa(key, tbs.Span, signature, HashAlgorithmName.SHA512),
                _ => false,
            };
        }
        catch (Exception e) when (e is AsnContentException or CryptographicException)
        {
            return false;
        }
    }

    private static bool VerifyEcdsa(PublicKey key, ReadOnlySpan<byte> tbs, byte[] signature, HashAlgorithmName hash)
    {
        using var ecdsa = key.GetECDsaPublicKey();
        return ecdsa is not null && ecdsa.VerifyData(tbs, signature, hash, DSASignatureFormat.Rfc3279DerSequence);
    }

    private static bool VerifyRsa(PublicKey key, ReadOnlySpan<byte> tbs, byte[] signature, HashAlgorithmName hash)
    {
        using var rsa = key.GetRSAPublicKey();
        return rsa is not null && rsa.VerifyData(tbs, signature, hash, RSASignaturePadding.Pkcs1);
    }
}
