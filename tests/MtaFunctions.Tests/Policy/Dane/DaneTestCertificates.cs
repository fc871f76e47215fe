using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MtaFunctions.Core.Policy.Dane;

namespace MtaFunctions.Tests.Policy.Dane;

/// <summary>Certificates made by the test for DANE cases: CAs with constraints, intermediates, leaves, and TLSA data for them.</summary>
public static class DaneTestCertificates
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    /// <summary>A CA (self-signed when <paramref name="issuer"/> is null), with its key.</summary>
    public static X509Certificate2 Ca(
        string name, X509Certificate2? issuer = null, int? pathLength = null, bool isCa = true,
        DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(isCa, pathLength.HasValue, pathLength ?? 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var from = notBefore ?? DateTimeOffset.UtcNow.AddYears(-5);
        var to = notAfter ?? DateTimeOffset.UtcNow.AddYears(2);
        if (issuer is null)
        {
            return Exportable(request.CreateSelfSigned(from, to));
        }

        AddAuthorityKeyId(request, issuer);
        return Issue(request, issuer, key, from, to);
    }

    /// <summary>A server certificate issued by <paramref name="issuer"/> (or self-signed when null), with its key.</summary>
    public static X509Certificate2 Leaf(
        X509Certificate2? issuer, string[] dnsNames, string? commonName = null, DateTimeOffset? notBefore = null,
        DateTimeOffset? notAfter = null, bool serverAuth = true)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName ?? (dnsNames.Length > 0 ? dnsNames[0] : "no-name")}", key, HashAlgorithmName.SHA256);
        if (dnsNames.Length > 0)
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (var name in dnsNames)
            {
                san.AddDnsName(name);
            }

            request.CertificateExtensions.Add(san.Build());
        }

        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([serverAuth ? ServerAuth : ClientAuth], false));
        var from = notBefore ?? DateTimeOffset.UtcNow.AddDays(-1);
        var to = notAfter ?? DateTimeOffset.UtcNow.AddDays(90);
        if (issuer is null)
        {
            return Exportable(request.CreateSelfSigned(from, to));
        }

        AddAuthorityKeyId(request, issuer);
        return Issue(request, issuer, key, from, to);
    }

    /// <summary>The TLSA record describing <paramref name="certificate"/> with the given fields.</summary>
    public static TlsaRecord Tlsa(TlsaUsage usage, TlsaSelector selector, TlsaMatchingType matching, X509Certificate2 certificate) =>
        new((byte)usage, (byte)selector, (byte)matching, Data(selector, matching, certificate));

    /// <summary>Certificate association data for <paramref name="certificate"/>.</summary>
    public static byte[] Data(TlsaSelector selector, TlsaMatchingType matching, X509Certificate2 certificate)
    {
        var selected = selector == TlsaSelector.Cert ? certificate.RawData : certificate.PublicKey.ExportSubjectPublicKeyInfo();
        return matching switch
        {
            TlsaMatchingType.Sha256 => SHA256.HashData(selected),
            TlsaMatchingType.Sha512 => SHA512.HashData(selected),
            _ => selected,
        };
    }

    /// <summary>The certificate without its private key, as a peer would send it.</summary>
    public static X509Certificate2 Public(X509Certificate2 certificate) => X509CertificateLoader.LoadCertificate(certificate.RawData);

    // Signs with the issuer's key directly, so that the test can also make what CertificateRequest.Create(issuer)
    // refuses (an issuer that is not a CA, validity outside the issuer's).
    private static X509Certificate2 Issue(CertificateRequest request, X509Certificate2 issuer, ECDsa key, DateTimeOffset from, DateTimeOffset to)
    {
        using var issuerKey = issuer.GetECDsaPrivateKey() ?? throw new InvalidOperationException("issuer has no ECDSA key");
        using var issued = request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForECDsa(issuerKey), from, to, RandomNumberGenerator.GetBytes(12));
        return Exportable(issued.CopyWithPrivateKey(key));
    }

    private static void AddAuthorityKeyId(CertificateRequest request, X509Certificate2 issuer)
    {
        var ski = issuer.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault();
        if (ski is not null)
        {
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(ski));
        }
    }

    // SslStream on Linux needs a certificate whose key came from a PKCS#12 import.
    private static X509Certificate2 Exportable(X509Certificate2 cert) =>
        X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
}
