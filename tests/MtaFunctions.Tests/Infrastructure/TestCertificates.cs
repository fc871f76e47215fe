using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>A certificate authority made by the test, issuing server certificates for loopback peers.</summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private readonly ECDsa _key;

    public TestCertificateAuthority(string name = "MtaFunctions Test Root")
    {
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddYears(-2), DateTimeOffset.UtcNow.AddYears(5));
        PemFile = Path.Combine(Directory.CreateTempSubdirectory("mta-ca").FullName, "root.pem");
        File.WriteAllText(PemFile, Certificate.ExportCertificatePem());
    }

    /// <summary>The root certificate (with its key).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The root as a PEM file, for <c>Queue:Outbound:Tls:ExtraRootCas</c>.</summary>
    public string PemFile { get; }

    /// <summary>Issues a TLS server certificate for <paramref name="dnsNames"/>.</summary>
    /// <param name="dnsNames">SAN DNS names; the first is also the CN.</param>
    /// <param name="notBefore">Start of validity (default yesterday).</param>
    /// <param name="notAfter">End of validity (default in 90 days).</param>
    /// <param name="serverAuth">False: the EKU allows client authentication only.</param>
    /// <param name="subjectAltName">False: the name is only in the CN (no SAN extension).</param>
    public X509Certificate2 IssueServer(
        string[] dnsNames, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, bool serverAuth = true, bool subjectAltName = true)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsNames[0]}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            san.AddDnsName(name);
        }

        if (subjectAltName)
        {
            request.CertificateExtensions.Add(san.Build());
        }

        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        var serial = RandomNumberGenerator.GetBytes(12);
        using var issued = request.Create(
            Certificate, notBefore ?? DateTimeOffset.UtcNow.AddDays(-1), notAfter ?? DateTimeOffset.UtcNow.AddDays(90), serial);
        return Exportable(issued.CopyWithPrivateKey(key));
    }

    /// <summary>A self-signed server certificate (not issued by any CA the MTA trusts).</summary>
    public static X509Certificate2 SelfSigned(string dnsName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        return Exportable(request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30)));
    }

    // SslStream on Linux needs a certificate whose key came from a PKCS#12 import.
    private static X509Certificate2 Exportable(X509Certificate2 cert) =>
        X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);

    public void Dispose() => _key.Dispose();
}
