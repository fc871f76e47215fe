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

    /// <summary>Every shell script of the repository (not node_modules or build output).</summary>
    public static TheoryData<string> Scripts { get; } = new(
        Directory.EnumerateFiles(RepoPaths.Root, "*.sh", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(RepoPaths.Root, path))
            .Where(path => !path.Split(Path.DirectorySeparatorChar).Any(part => part is "node_modules" or "bin" or "obj" or ".git" or "TestResults"))
            .Order(StringComparer.Ordinal));

    [Fact]
    public void Scripts_IncludeEveryInfraScriptAndTheTestRunner()
    {
        var scripts = Scripts.Select(row => row.Data).ToList();
        foreach (var script in new[] { "infra/deploy.sh", "infra/common.sh", "infra/postprovision.sh", "tests/run-tests.sh" })
        {
            Assert.Contains(script.Replace('/', Path.DirectorySeparatorChar), scripts);
        }
    }

    [Theory]
    [MemberData(nameof(Scripts))]
    public async Task Script_BashSyntaxAndShellCheck_FindNothing(string script)
    {
        var syntax = await CommandLine.RunAsync("bash", ["-n", script], RepoPaths.Root);
        Assert.True(syntax.ExitCode == 0, syntax.ToString());
        var shellcheck = CommandLine.FindOnPath("shellcheck")
            ?? throw new InvalidOperationException("shellcheck is not installed (tests/apt-packages.txt lists it: apt-get install shellcheck)");
        var result = await CommandLine.RunAsync(shellcheck, ["--severity=style", "--external-sources", script], RepoPaths.Root);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task DeployScript_EveryAzdVariable_IsForwarded()
    {
        // The values azd would pass for each ${VAR} of bicep/main.parameters.json, none of them a default.
        var result = await Deploy(
            ["-e", "test", "-l", "swedencentral", "--skip-build"],
            ("MAIL_DOMAIN", "example.com"), ("VNET_ENABLED", "true"), ("EGRESS_REVERSE_FQDN", "mta.example.com."),
            ("FUNCTIONS_RUNTIME_VERSION", "9.0"), ("DNS_SERVERS", "192.0.2.53"));
        Assert.True(result.ExitCode == 0, result.ToString());

        var create = Assert.Single(az.Calls, call => call.StartsWith("deployment sub create", StringComparison.Ordinal));
        foreach (var parameter in new[]
        {
            "environmentName=test", "location=swedencentral", "principalId=00000000-0000-0000-0000-00000000abcd", "principalType=User",
            "vnetEnabled=true", "egressReverseFqdn=mta.example.com.", "mailDomain=example.com", "runtimeVersion=9.0", "dnsServers=192.0.2.53",
        })
        {
            Assert.Contains($" {parameter} ", create, StringComparison.Ordinal);
        }

        // Whatever main.parameters.json maps, the script passes: a new mapping cannot be forgotten.
        Assert.All(AzdParameterNames(), name => Assert.Contains($" {name}=", create, StringComparison.Ordinal));
    }

    [Fact]
    public async Task DeployScript_SecondRunWithSkipBuild_KeepsWhatTheAzdEnvironmentSet()
    {
        // `azd up` ran first: its environment holds the choices; deploy.sh only gets the environment name.
        az.WriteAzdEnvironment("test", new Dictionary<string, string>
        {
            ["AZURE_ENV_NAME"] = "test",
            ["AZURE_LOCATION"] = "swedencentral",
            ["MAIL_DOMAIN"] = "example.com",
            ["VNET_ENABLED"] = "true",
            ["EGRESS_REVERSE_FQDN"] = "mta.example.com.",
            ["FUNCTIONS_RUNTIME_VERSION"] = "9.0",
            ["DNS_SERVERS"] = "192.0.2.53",
            ["AZURE_RESOURCE_GROUP"] = "rg-chosen",
        });
        var result = await Deploy("-e", "test", "--skip-build");
        Assert.True(result.ExitCode == 0, result.ToString());

        Assert.Contains("env get-values --environment test", az.AzdCalls);
        var create = Assert.Single(az.Calls, call => call.StartsWith("deployment sub create", StringComparison.Ordinal));
        foreach (var parameter in new[]
        {
            "resourceGroupName=rg-chosen", "location=swedencentral", "vnetEnabled=true", "egressReverseFqdn=mta.example.com.",
            "mailDomain=example.com", "runtimeVersion=9.0", "dnsServers=192.0.2.53",
        })
        {
            Assert.Contains($" {parameter} ", create, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task DeployScript_OptionsAndEnvironment_WinOverTheAzdEnvironment()
    {
        az.WriteAzdEnvironment("test", new Dictionary<string, string>
        {
            ["AZURE_LOCATION"] = "westeurope",
            ["MAIL_DOMAIN"] = "example.com",
            ["DNS_SERVERS"] = "192.0.2.53",
        });
        var result = await Deploy(["-e", "test", "-l", "swedencentral", "-d", "example.org", "--skip-build"], ("DNS_SERVERS", "198.51.100.53"));
        Assert.True(result.ExitCode == 0, result.ToString());

        var create = Assert.Single(az.Calls, call => call.StartsWith("deployment sub create", StringComparison.Ordinal));
        Assert.Contains(" location=swedencentral ", create, StringComparison.Ordinal);
        Assert.Contains(" mailDomain=example.org ", create, StringComparison.Ordinal);
        Assert.Contains(" dnsServers=198.51.100.53 ", create, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeployScript_SkipBuildMakingKeys_RestartsTheAppOnce()
    {
        await Deploy("-e", "test", "-l", "swedencentral", "-d", "example.com", "--skip-build");
        var restart = $"functionapp restart --resource-group rg-test --name {FakeAzureCli.FunctionApp} --output none";
        Assert.Single(az.Calls, call => call == restart);

        // Keys exist now: nothing to pick up, no restart.
        await Deploy("-e", "test", "-l", "swedencentral", "-d", "example.com", "--skip-build");
        Assert.Single(az.Calls, call => call == restart);
    }

    private static IReadOnlyList<string> AzdParameterNames() =>
        System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "bicep", "main.parameters.json")))!["parameters"]!
            .AsObject().Select(p => p.Key).ToList();

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

        Assert.DoesNotContain(az.Calls, call => call.StartsWith("functionapp deployment", StringComparison.Ordinal));
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

    private Task<CommandResult> Deploy(params string[] arguments) => Deploy(arguments, []);

    private Task<CommandResult> Deploy(string[] arguments, params (string Name, string Value)[] environment)
    {
        var variables = new Dictionary<string, string>
        {
            ["PATH"] = az.BinDirectory + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH"),
            ["AZURE_RESOURCE_GROUP"] = "",
            ["DKIM_RETRY_SECONDS"] = "0",
        };

        // Nothing of the caller's environment leaks in: every azd variable starts empty.
        foreach (var name in new[] { "AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_PRINCIPAL_ID", "AZURE_PRINCIPAL_TYPE", "MAIL_DOMAIN", "VNET_ENABLED", "EGRESS_REVERSE_FQDN", "FUNCTIONS_RUNTIME_VERSION", "DNS_SERVERS" })
        {
            variables[name] = "";
        }

        foreach (var (name, value) in environment)
        {
            variables[name] = value;
        }

        return CommandLine.RunAsync("bash", [Script, .. arguments], RepoPaths.Root, variables);
    }
}
