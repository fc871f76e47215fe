using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Tool;

/// <summary>
/// Azurite over HTTPS with <c>--oauth basic</c>: it takes bearer tokens only (lifetime, issuer and audience checked,
/// the signature not), which is the keyless path of the deployed account with a test-made token.
/// </summary>
public sealed partial class OAuthAzurite : IAsyncLifetime
{
    private Process? _process;

    public TestCertificateAuthority Ca { get; } = new("MtaFunctions Azurite Test Root");

    public Uri QueueUri { get; private set; } = null!;
    public Uri TableUri { get; private set; } = null!;
    public Uri BlobUri { get; private set; } = null!;

    [GeneratedRegex(@"Azurite (Blob|Queue|Table) service is successfully listening at (https://[0-9a-z.:]+)")]
    private static partial Regex ListeningLine();

    public async ValueTask InitializeAsync()
    {
        var dir = Directory.CreateTempSubdirectory("azurite-oauth").FullName;
        using var certificate = Ca.IssueServer(["localhost"]);
        var certFile = Path.Combine(dir, "cert.pem");
        var keyFile = Path.Combine(dir, "key.pem");
        await File.WriteAllTextAsync(certFile, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());

        var psi = new ProcessStartInfo(Path.Combine(RepoPaths.Root, "node_modules", ".bin", "azurite"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dir,
        };
        foreach (var arg in new[]
                 {
                     "--silent", "--skipApiVersionCheck", "--disableTelemetry", "--oauth", "basic", "--cert", certFile, "--key", keyFile,
                     "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
                     "--blobPort", "0", "--queuePort", "0", "--tablePort", "0",
                 })
        {
            psi.ArgumentList.Add(arg);
        }

        _process = Process.Start(psi) ?? throw new InvalidOperationException("azurite did not start");
        var endpoints = new Dictionary<string, Uri>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (endpoints.Count < 3)
        {
            var line = await _process.StandardOutput.ReadLineAsync(timeout.Token)
                       ?? throw new InvalidOperationException("azurite exited: " + await _process.StandardError.ReadToEndAsync());
            var match = ListeningLine().Match(line);
            if (match.Success)
            {
                // The certificate names localhost; Azurite listens on 127.0.0.1.
                var port = new Uri(match.Groups[2].Value).Port;
                endpoints[match.Groups[1].Value] = new Uri($"https://localhost:{port}/devstoreaccount1");
            }
        }

        _ = _process.StandardOutput.ReadToEndAsync();
        _ = _process.StandardError.ReadToEndAsync();
        (QueueUri, TableUri, BlobUri) = (endpoints["Queue"], endpoints["Table"], endpoints["Blob"]);
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

    public ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process?.Dispose();
        Ca.Dispose();
        return ValueTask.CompletedTask;
    }
}
