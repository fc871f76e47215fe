using System.Text.RegularExpressions;

namespace MtaFunctions.Tests.Infra;

/// <summary>
/// The app settings of a <see cref="BicepSnapshot"/> as the Function App sees them once Azure has deployed
/// them: the few <c>reference(...)</c> expressions replaced by what Azure puts there (service URIs of the
/// storage account, the identity's client id, ...), and each Key Vault reference either resolved to the
/// secret (when the DKIM keys exist) or left as the literal reference (App Service's behaviour when the
/// secret does not exist yet). Every literal value stays exactly as the template writes it; an expression
/// this class does not know fails, so a new one gets a deliberate answer here.
/// </summary>
public static partial class DeployedAppSettings
{
    public const string ClientId = "11111111-2222-3333-4444-555555555555";
    public const string EgressIp = "203.0.113.25";

    /// <summary>Resolves the deployment-time expressions; <paramref name="secrets"/> maps secret names to values (absent: not created yet).</summary>
    public static Dictionary<string, string> Resolve(IReadOnlyDictionary<string, string> templateSettings, IReadOnlyDictionary<string, string> secrets)
    {
        var resolved = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in templateSettings)
        {
            resolved[name] = BicepSnapshot.IsExpression(value) ? Evaluate(name, value, secrets) : value;
        }

        return resolved;
    }

    private static string Evaluate(string name, string expression, IReadOnlyDictionary<string, string> secrets)
    {
        string Resource(string type) => ResourceName(type).Match(expression) is { Success: true } m
            ? m.Groups["name"].Value
            : throw new InvalidOperationException($"{name}: expected a reference to a {type} in {expression}");

        if (name.StartsWith("Report__Dkim__", StringComparison.Ordinal) && name.EndsWith("__PrivateKey", StringComparison.Ordinal))
        {
            var vault = Resource("Microsoft.KeyVault/vaults");
            var secret = SecretName().Match(expression).Groups["secret"].Value;
            Assert.StartsWith("[format('@Microsoft.KeyVault(SecretUri={0}secrets/{1}/)'", expression, StringComparison.Ordinal);
            return secrets.TryGetValue(secret, out var value) ? value : $"@Microsoft.KeyVault(SecretUri=https://{vault}.vault.azure.net/secrets/{secret}/)";
        }

        return name switch
        {
            "AzureWebJobsStorage__clientId" => ClientId,
            "AzureWebJobsStorage__blobServiceUri" => $"https://{Resource("Microsoft.Storage/storageAccounts")}.blob.core.windows.net/",
            "AzureWebJobsStorage__queueServiceUri" => $"https://{Resource("Microsoft.Storage/storageAccounts")}.queue.core.windows.net/",
            "AzureWebJobsStorage__tableServiceUri" => $"https://{Resource("Microsoft.Storage/storageAccounts")}.table.core.windows.net/",
            "APPLICATIONINSIGHTS_CONNECTION_STRING" => $"InstrumentationKey=00000000-0000-0000-0000-0000000000a1;IngestionEndpoint=https://{Resource("Microsoft.Insights/components")}.in.applicationinsights.azure.com/",
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING" => $"ClientId={ClientId};Authorization=AAD",
            "Queue__Outbound__EgressIps" => Resource("Microsoft.Network/publicIPAddresses") is { Length: > 0 } ? EgressIp : "",
            _ => throw new InvalidOperationException($"app setting {name} is an expression this test does not know how Azure resolves: {expression}"),
        };
    }

    private static Regex ResourceName(string type) => new($"/providers/{Regex.Escape(type)}/(?<name>[^'/]+)'", RegexOptions.CultureInvariant);

    [GeneratedRegex(@", '(?<secret>[^']+)'\)\]$")]
    private static partial Regex SecretName();
}
