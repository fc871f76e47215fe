using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Tool;

/// <summary>
/// Azurite over HTTPS with <c>--oauth basic</c>: it takes bearer tokens only (lifetime, issuer and audience checked,
/// the signature not), which is the keyless path of the deployed account with a test-made token.
/// </summary>
public sealed class OAuthAzurite : IAsyncLifetime
{
    private AzuriteFixture? _azurite;

    public TestCertificateAuthority Ca { get; } = new("MtaFunctions Azurite Test Root");

    public Uri QueueUri => Azurite.Endpoints["Queue"];
    public Uri TableUri => Azurite.Endpoints["Table"];
    public Uri BlobUri => Azurite.Endpoints["Blob"];

    private AzuriteFixture Azurite => _azurite ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        var dir = Directory.CreateTempSubdirectory("azurite-oauth").FullName;
        using var certificate = Ca.IssueServer(["localhost"]);
        var certFile = Path.Combine(dir, "cert.pem");
        var keyFile = Path.Combine(dir, "key.pem");
        await File.WriteAllTextAsync(certFile, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());

        // The certificate names localhost; Azurite listens on 127.0.0.1.
        _azurite = new AzuriteFixture(new AzuriteOptions { OAuth = true, Https = (certFile, keyFile), HostName = "localhost" });
        await _azurite.InitializeAsync();
    }

    /// <summary>An HTTP handler that trusts only this instance's test CA.</summary>
    public HttpClientHandler TrustingHandler() => new()
    {
        ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
        {
            if (certificate is null)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(Ca.Certificate);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(certificate) && certificate.MatchesHostname("localhost");
        },
    };

    public async ValueTask DisposeAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }

        Ca.Dispose();
    }
}
