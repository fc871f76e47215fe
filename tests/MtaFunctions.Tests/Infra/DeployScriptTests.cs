using System.Security.Cryptography;
using System.Text.RegularExpressions;
using MtaFunctions.Tests.Infrastructure;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.OpenSsl;

namespace MtaFunctions.Tests.Infra;

/// <summary>
/// <c>infra/deploy.sh</c>: syntax, shellcheck, and a run against <see cref="FakeAzureCli"/> (Azure's
/// control plane is the one thing replaced) checking what it deploys, the DKIM keys it generates and
/// stores, and the DNS records it prints. The build + zip-deploy step is skipped (<c>--skip-build</c>):
/// it is <c>dotnet publish</c>, which the rest of the suite already builds.
/// </summary>
public sealed partial class DeployScriptTests : IDisposable
{
    private static readonly string Script = Path.Combine(RepoPaths.Root, "infra", "deploy.sh");

    private readonly FakeAzureCli az = new();

    public void Dispose() => az.Dispose();

    [Fact]
    public async Task DeployScript_BashSyntax_IsValid()
    {
        var result = await CommandLine.RunAsync("bash", ["-n", Script], RepoPaths.Root);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task DeployScript_ShellCheck_FindsNothing()
    {
        var shellcheck = CommandLine.FindOnPath("shellcheck")
            ?? throw new InvalidOperationException("shellcheck is not installed (tests/apt-packages.txt lists it: apt-get install shellcheck)");
        var result = await CommandLine.RunAsync(shellcheck, ["--severity=style", Script], RepoPaths.Root);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task DeployScript_NotLoggedIn_StopsBeforeDeploying()
    {
        az.LoggedIn = false;
        var result = await Deploy("-e", "test", "-l", "swedencentral", "--skip-build");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("az login", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain(az.Calls, call => call.StartsWith("deployment", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DeployScript_MissingLocation_ExitsWithUsage()
    {
        var result = await Deploy("-e", "test");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Usage:", result.StandardError, StringComparison.Ordinal);
        Assert.Empty(az.Calls);
    }

    [Fact]
    public async Task DeployScript_FullRun_DeploysSubscriptionTemplateWithParameters()
    {
        var result = await Deploy("-e", "test", "-l", "swedencentral", "-d", "example.com", "--vnet", "--skip-build", "--", "dane=require");
        Assert.True(result.ExitCode == 0, result.ToString());

        Assert.Contains("group create --name rg-test --location swedencentral --tags azd-env-name=test --output none", az.Calls);
        Assert.Contains(az.Calls, call => call.StartsWith("provider register --namespace Microsoft.App", StringComparison.Ordinal));
        var create = Assert.Single(az.Calls, call => call.StartsWith("deployment sub create", StringComparison.Ordinal));
        Assert.Contains($"--template-file {Path.Combine(RepoPaths.Root, "bicep", "main.bicep")}", create, StringComparison.Ordinal);
        foreach (var parameter in new[]
        {
            "environmentName=test", "location=swedencentral", "resourceGroupName=rg-test", "principalId=00000000-0000-0000-0000-00000000abcd",
            "principalType=User", "vnetEnabled=true", "mailDomain=example.com", "dane=require",
        })
        {
            Assert.Contains($" {parameter} ", create, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(az.Calls, call => call.StartsWith("functionapp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DeployScript_FullRun_PrintsTlsRptSpfAndReverseDnsRecords()
    {
        var result = await Deploy("-e", "test", "-l", "swedencentral", "-d", "example.com", "--vnet", "--skip-build");
        Assert.True(result.ExitCode == 0, result.ToString());
        var output = result.StandardOutput;

        Assert.Contains($"_smtp._tls.example.com. TXT \"v=TLSRPTv1; rua={FakeAzureCli.Endpoint}\"", output, StringComparison.Ordinal);
        Assert.Contains($"{FakeAzureCli.Hostname}. A {FakeAzureCli.EgressIp}", output, StringComparison.Ordinal);
        Assert.Contains($"example.com. TXT \"v=spf1 ip4:{FakeAzureCli.EgressIp} -all\"", output, StringComparison.Ordinal);
        Assert.Contains($"--reverse-fqdn {FakeAzureCli.Hostname}.", output, StringComparison.Ordinal);
        Assert.Contains("port 25", output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task DeployScript_NoDkimSecrets_GeneratesKeysAndPrintsTheirPublicKeys()
    {
        var result = await Deploy("-e", "test", "-l", "swedencentral", "-d", "example.com", "--skip-build");
        Assert.True(result.ExitCode == 0, result.ToString());

        var rsaPem = File.ReadAllText(Path.Combine(az.SecretsDirectory, "dkim-rsa"));
        using var rsa = RSA.Create();
        rsa.ImportFromPem(rsaPem);
        Assert.Equal(2048, rsa.KeySize);
        Assert.Equal(
            $"v=DKIM1; k=rsa; p={Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo())}",
            DkimRecord(result.StandardOutput, "mta-rsa._domainkey.example.com."));

        // RFC 8463 §4.2: k=ed25519, p= the raw 32-byte public key.
        var ed25519 = (Ed25519PrivateKeyParameters)new PemReader(new StringReader(File.ReadAllText(Path.Combine(az.SecretsDirectory, "dkim-ed25519")))).ReadObject();
        Assert.Equal(
            $"v=DKIM1; k=ed25519; p={Convert.ToBase64String(ed25519.GeneratePublicKey().GetEncoded())}",
            DkimRecord(result.StandardOutput, "mta-ed25519._domainkey.example.com."));
    }

    [Fact]
    public async Task DeployScript_SecondRun_KeepsTheStoredDkimKeys()
    {
        var first = await Deploy("-e", "test", "-l", "swedencentral", "-d", "example.com", "--skip-build");
        var second = await Deploy("-e", "test", "-l", "swedencentral", "-d", "example.com", "--skip-build");
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal(
            DkimRecord(first.StandardOutput, "mta-rsa._domainkey.example.com."),
            DkimRecord(second.StandardOutput, "mta-rsa._domainkey.example.com."));
        Assert.Equal(2, az.Calls.Count(call => call.StartsWith("keyvault secret set", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task DeployScript_WithoutVnet_WarnsThatThereIsNoStaticEgressIp()
    {
        var result = await Deploy("-e", "test", "-l", "swedencentral", "-d", "example.com", "--skip-build");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain(az.Calls, call => call.StartsWith("provider register", StringComparison.Ordinal));
        Assert.Contains(" vnetEnabled=false ", Assert.Single(az.Calls, call => call.StartsWith("deployment sub create", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    private static string DkimRecord(string output, string owner)
    {
        var match = Regex.Match(output, "^ *" + Regex.Escape(owner) + " TXT \"(?<value>[^\"]+)\"$", RegexOptions.Multiline);
        Assert.True(match.Success, $"no DKIM record for {owner} in:\n{output}");
        return match.Groups["value"].Value;
    }

    private Task<CommandResult> Deploy(params string[] arguments) =>
        CommandLine.RunAsync("bash", [Script, .. arguments], RepoPaths.Root, new Dictionary<string, string>
        {
            ["PATH"] = az.BinDirectory + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH"),
            ["AZURE_ENV_NAME"] = "",
            ["AZURE_LOCATION"] = "",
            ["MAIL_DOMAIN"] = "",
            ["VNET_ENABLED"] = "",
            ["AZURE_RESOURCE_GROUP"] = "",
        });
}
