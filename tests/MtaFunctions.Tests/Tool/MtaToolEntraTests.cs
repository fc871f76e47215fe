using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Tool;

/// <summary>
/// The keyless path: storage by service URIs with an Entra ID token (the SDK's TokenCredential seam), against
/// Azurite over HTTPS that accepts bearer tokens only.
/// </summary>
public sealed class MtaToolEntraTests(OAuthAzurite azurite) : IClassFixture<OAuthAzurite>
{
    private string[] ServiceUris =>
    [
        "--set", $"AzureWebJobsStorage__queueServiceUri={azurite.QueueUri}",
        "--set", $"AzureWebJobsStorage__tableServiceUri={azurite.TableUri}",
        "--set", $"AzureWebJobsStorage__blobServiceUri={azurite.BlobUri}",
    ];

    private Func<MtaFunctions.Tool.ToolEnvironment, MtaFunctions.Tool.ToolEnvironment> With(TokenCredential credential) =>
        env => env with { Credential = credential, ConfigureStorageClients = o => o.Transport = new HttpClientTransport(azurite.TrustingHandler()) };

    [Fact]
    public async Task SendStatusQueueList_WithBearerToken_Work()
    {
        var credential = new StandInCredential();
        var eml = Path.Combine(Directory.CreateTempSubdirectory("entra").FullName, "m.eml");
        await File.WriteAllBytesAsync(eml, MtaTestHost.Message("app@sender.test", "a@entra.test"), TestContext.Current.CancellationToken);

        var send = await ToolRun.RunAsync(["send", "--from", "app@sender.test", "--to", "a@entra.test", eml, .. ServiceUris], With(credential));
        Assert.True(send.Exit == 0, send.ToString());
        var id = send.Out.Trim();

        var status = await ToolRun.RunAsync(["status", id, "--json", .. ServiceUris], With(credential));
        Assert.True(status.Exit == 0, status.ToString());
        Assert.Equal("queued", status.Json().GetProperty("state").GetString());
        var list = await ToolRun.RunAsync(["queue", "list", "--json", .. ServiceUris], With(credential));
        Assert.True(list.Exit == 0, list.ToString());
        Assert.Contains(list.Json().EnumerateArray(), e => e.GetProperty("messageId").GetString() == id);

        Assert.NotEmpty(credential.Scopes);
        Assert.All(credential.Scopes, s => Assert.Equal("https://storage.azure.com/.default", s));
    }

    [Fact]
    public async Task TokenForAnotherAudience_RefusedByStorage_ExitOne()
    {
        var credential = new StandInCredential(audience: "https://vault.azure.net");

        var list = await ToolRun.RunAsync(["queue", "list", .. ServiceUris], With(credential));

        Assert.True(list.Exit == 1, list.ToString());
        Assert.Contains("storage refused the request (403", list.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoToken_ExitOneSayingSo()
    {
        var list = await ToolRun.RunAsync(["queue", "list", "--account", "mtaprod"], With(new NoCredential()));

        Assert.True(list.Exit == 1, list.ToString());
        Assert.Contains("no Entra ID token for the storage account: not signed in", list.Error, StringComparison.Ordinal);
    }

    /// <summary>Issues unsigned JWTs as Entra ID would shape them (Azurite's basic OAuth checks all but the signature).</summary>
    /// <remarks>The audience is the scope asked for, as Entra ID does, unless a test forces another.</remarks>
    private sealed class StandInCredential(string? audience = null) : TokenCredential
    {
        public ConcurrentBag<string> Scopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            foreach (var scope in requestContext.Scopes)
            {
                Scopes.Add(scope);
            }

            var now = DateTimeOffset.UtcNow;
            var header = Base64Url("""{"alg":"RS256","typ":"JWT"}""");
            var claims = Base64Url(JsonSerializer.Serialize(new
            {
                aud = audience ?? requestContext.Scopes[0].Replace("/.default", "", StringComparison.Ordinal),
                iss = "https://sts.windows.net/00000000-0000-0000-0000-000000000001/",
                iat = now.AddMinutes(-5).ToUnixTimeSeconds(),
                nbf = now.AddMinutes(-5).ToUnixTimeSeconds(),
                exp = now.AddHours(1).ToUnixTimeSeconds(),
                oid = "00000000-0000-0000-0000-000000000002",
            }));
            return new AccessToken($"{header}.{claims}.c2lnbmF0dXJl", now.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));

        private static string Base64Url(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    private sealed class NoCredential : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            throw new CredentialUnavailableException("not signed in (stand-in: no az login, no managed identity)");

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            throw new CredentialUnavailableException("not signed in (stand-in: no az login, no managed identity)");
    }
}
