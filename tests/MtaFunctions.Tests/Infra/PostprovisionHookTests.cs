using System.Security.Cryptography;
using System.Text.RegularExpressions;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Infra;

/// <summary>
/// azd's postprovision hook as azure.yaml declares it, run the way azd runs it: its <c>run</c> line in
/// <c>sh</c> at the repository root, with the azd environment in the environment — the outputs of a
/// <see cref="BicepSnapshot"/> of the template (so a renamed output breaks this test), against the
/// stand-in <c>az</c> of <see cref="FakeAzureCli"/>.
/// </summary>
public sealed partial class PostprovisionHookTests : IDisposable
{
    private readonly FakeAzureCli az = new();

    public void Dispose() => az.Dispose();

    [Fact]
    public void AzureYaml_PostprovisionHook_RunsTheScriptAndLetsAzdGoOn()
    {
        var hook = Hook();
        Assert.Equal("bash infra/postprovision.sh", hook.Run);
        Assert.True(hook.ContinueOnError, "without continueOnError a hook that cannot make keys (az not logged in) would stop `azd up` before the app is deployed");
        Assert.True(File.Exists(Path.Combine(RepoPaths.Root, "infra", "postprovision.sh")));
    }

    [Fact]
    public async Task Hook_AfterProvisioning_StoresBothKeysRestartsAndPrintsTheirRecords()
    {
        var result = await RunHookAsync(await AzdEnvironmentAsync(("MAIL_DOMAIN", "example.com")));
        Assert.True(result.ExitCode == 0, result.ToString());

        Assert.Equal(2, az.Calls.Count(call => call.StartsWith("keyvault secret set --vault-name kv-", StringComparison.Ordinal)));
        using var rsa = RSA.Create();
        rsa.ImportFromPem(File.ReadAllText(Path.Combine(az.SecretsDirectory, "dkim-rsa")));
        Assert.Contains(
            $"mta-rsa._domainkey.example.com. TXT \"v=DKIM1; k=rsa; p={Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo())}\"",
            result.StandardOutput,
            StringComparison.Ordinal);
        Assert.Matches(@"mta-ed25519\._domainkey\.example\.com\. TXT ""v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=""", result.StandardOutput);
        Assert.Contains(az.Calls, call => RestartCall().IsMatch(call));
        Assert.Contains("_smtp._tls.example.com. TXT \"v=TLSRPTv1; rua=https://", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hook_SecondRun_KeepsTheKeysAndDoesNotRestart()
    {
        var environment = await AzdEnvironmentAsync(("MAIL_DOMAIN", "example.com"));
        var first = await RunHookAsync(environment);
        var second = await RunHookAsync(environment);
        Assert.True(second.ExitCode == 0, second.ToString());

        Assert.Equal(2, az.Calls.Count(call => call.StartsWith("keyvault secret set", StringComparison.Ordinal)));
        Assert.Single(az.Calls, call => RestartCall().IsMatch(call));
        Assert.Equal(DkimLines(first.StandardOutput), DkimLines(second.StandardOutput));
    }

    [Fact]
    public async Task Hook_AzNotLoggedIn_FailsSayingReportsStayOffAndHowToRetry()
    {
        az.LoggedIn = false;
        var result = await RunHookAsync(await AzdEnvironmentAsync(("MAIL_DOMAIN", "example.com")));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("az login", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("TLS reports stay off until the keys exist", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("azd hooks run postprovision", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain(az.Calls, call => call.StartsWith("keyvault", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Hook_NoMailDomain_NothingToDoAndSucceeds()
    {
        var result = await RunHookAsync(await AzdEnvironmentAsync());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("no keys to create", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(az.Calls, call => call.StartsWith("keyvault", StringComparison.Ordinal) || call.StartsWith("functionapp", StringComparison.Ordinal));
    }

    /// <summary>The azd environment after provisioning: the inputs, and every output of the template (azd stores them).</summary>
    private static async Task<Dictionary<string, string>> AzdEnvironmentAsync(params (string Name, string Value)[] inputs)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["AZURE_ENV_NAME"] = "test",
            ["AZURE_LOCATION"] = "swedencentral",
        };
        foreach (var (name, value) in inputs)
        {
            environment[name] = value;
        }

        var snapshot = await BicepSnapshot.OfAzdEnvironmentAsync(environment);
        foreach (var (name, node) in snapshot.Json["outputs"]!.AsObject())
        {
            var value = snapshot.Output(name);
            // Outputs that read a deployed resource (the app's host name) are what Azure returns.
            environment[name] = node is System.Text.Json.Nodes.JsonValue && BicepSnapshot.IsExpression(value)
                ? name switch
                {
                    "FUNCTION_APP_HOSTNAME" => "func-test.azurewebsites.net",
                    "TLSRPT_ENDPOINT" => "https://func-test.azurewebsites.net/api/tlsrpt",
                    "APPLICATIONINSIGHTS_CONNECTION_STRING" => "InstrumentationKey=00000000-0000-0000-0000-0000000000a1",
                    "AZURE_STORAGE_QUEUE_ENDPOINT" or "AZURE_STORAGE_TABLE_ENDPOINT" or "AZURE_STORAGE_BLOB_ENDPOINT" =>
                        $"https://{environment.GetValueOrDefault("AZURE_STORAGE_ACCOUNT_NAME", "st")}.{name.Split('_')[2].ToLowerInvariant()}.core.windows.net/",
                    _ => throw new InvalidOperationException($"output {name} is an expression this test does not know: {value}"),
                }
                : value;
        }

        return environment;
    }

    private Task<CommandResult> RunHookAsync(Dictionary<string, string> azdEnvironment)
    {
        var variables = new Dictionary<string, string>(azdEnvironment)
        {
            ["PATH"] = az.BinDirectory + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH"),
            ["DKIM_RETRY_SECONDS"] = "0",
        };
        return CommandLine.RunAsync("sh", ["-c", Hook().Run], RepoPaths.Root, variables);
    }

    private static (string Run, bool ContinueOnError) Hook()
    {
        var yaml = File.ReadAllText(Path.Combine(RepoPaths.Root, "azure.yaml"));
        var posix = PosixHook().Match(yaml);
        Assert.True(posix.Success, "azure.yaml has no hooks: postprovision: posix: block");
        var body = posix.Groups["body"].Value;
        return (
            Regex.Match(body, @"(?m)^\s+run: (?<run>.+?)\s*$").Groups["run"].Value,
            Regex.IsMatch(body, @"(?m)^\s+continueOnError: true\s*$"));
    }

    private static List<string> DkimLines(string output) =>
        output.Split('\n').Where(line => line.Contains("._domainkey.", StringComparison.Ordinal)).ToList();

    [GeneratedRegex(@"(?m)^hooks:\s*\n\s+postprovision:\s*\n\s+posix:\s*\n(?<body>(\s{6,}.*\n?)+)")]
    private static partial Regex PosixHook();

    [GeneratedRegex(@"^functionapp restart --resource-group rg-test --name func-mta-\w+ --output none$")]
    private static partial Regex RestartCall();
}
