using System.Text.Json.Nodes;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Configuration;

namespace MtaFunctions.Tests.Infra;

/// <summary>
/// Offline <c>bicep build</c> and <c>bicep lint</c> of every template under <c>bicep/</c>, and checks of
/// what the compiled templates deploy. Bicep reports type mismatches only as warnings (exit code 0),
/// so any diagnostic line at all fails.
/// </summary>
public sealed class BicepTemplateTests(BicepFixture bicep) : IClassFixture<BicepFixture>
{
    [Fact]
    public void Build_EveryTemplate_NoErrorsOrWarnings()
    {
        Assert.True(bicep.Build.ExitCode == 0 && bicep.Build.StandardError.Trim().Length == 0, bicep.Build.ToString());
        Assert.Contains(Path.Combine("app", "api.bicep"), bicep.Templates);
        Assert.All(bicep.Templates, template =>
            Assert.True(File.Exists(Path.Combine(bicep.OutputDirectory, Path.ChangeExtension(template, ".json"))), $"{template} was not compiled"));
    }

    [Fact]
    public void Lint_EveryTemplate_NoErrorsOrWarnings()
    {
        Assert.True(bicep.Lint.ExitCode == 0 && bicep.Lint.StandardError.Trim().Length == 0, bicep.Lint.ToString());
        Assert.Equal("", bicep.Lint.StandardOutput.Trim());
    }

    [Fact]
    public void Main_TlsAndReportParameters_DefaultToSafeValues()
    {
        var parameters = Json("main.bicep")["parameters"]!;
        string Default(string name) => parameters[name]!["defaultValue"]!.ToJsonString();

        // The parameters carry the code's own defaults (SettingsCatalog) ...
        Assert.Equal($"\"{CatalogDefault(SettingKeys.StartTls)}\"", Default("startTls"));
        Assert.Equal($"\"{CatalogDefault(SettingKeys.Dane)}\"", Default("dane"));
        Assert.Equal($"\"{CatalogDefault(SettingKeys.MtaSts)}\"", Default("mtaSts"));
        Assert.Equal(CatalogDefault(SettingKeys.AllowInvalidCerts), Default("allowInvalidCerts"));

        // ... and those are the safe ones the issue asks for.
        Assert.Equal("\"optional\"", Default("startTls"));
        Assert.Equal("\"optional\"", Default("dane"));
        Assert.Equal("\"optional\"", Default("mtaSts"));
        Assert.Equal("false", Default("allowInvalidCerts"));
        // Reports need the DKIM signatures a mail domain gives; without one they are off, not broken.
        Assert.Equal("[if(empty(parameters('mailDomain')), 'never', 'daily')]", (string)parameters["reportSend"]!["defaultValue"]!);
        // RFC 8460 §5.3: the submitter is the domain of the contact (postmaster@<mailDomain>).
        Assert.Equal("[parameters('mailDomain')]", (string)parameters["reportSubmitter"]!["defaultValue"]!);
        Assert.Equal("\"10.0\"", Default("runtimeVersion"));
        Assert.Equal("false", Default("vnetEnabled"));
        // Quad9 and Cloudflare both validate DNSSEC; Azure's 168.63.129.16 does not.
        Assert.Equal("\"9.9.9.9,1.1.1.1\"", Default("dnsServers"));
    }

    [Fact]
    public void MainParameters_EveryName_IsATemplateParameterAndRequiredOnesAreGiven()
    {
        var template = Json("main.bicep")["parameters"]!.AsObject();
        var given = JsonNode.Parse(File.ReadAllText(Path.Combine(bicep.TemplateDirectory, "main.parameters.json")))!["parameters"]!.AsObject();

        Assert.All(given, pair => Assert.True(template.ContainsKey(pair.Key), $"main.parameters.json sets '{pair.Key}', which main.bicep does not declare"));
        var required = template.Where(pair => pair.Value!["defaultValue"] is null).Select(pair => pair.Key).ToList();
        Assert.Equal(["environmentName", "location"], required);
        Assert.All(required, name => Assert.True(given.ContainsKey(name), $"main.parameters.json does not set required '{name}'"));
    }

    [Fact]
    public void Main_Scope_IsSubscriptionCreatingTheResourceGroup()
    {
        var main = Json("main.bicep");
        Assert.Contains("subscriptionDeploymentTemplate.json", (string)main["$schema"]!, StringComparison.Ordinal);
        Assert.Contains(Resources(main), r => (string)r["type"]! == "Microsoft.Resources/resourceGroups");
    }

    [Fact]
    public void Api_Plan_IsFlexConsumptionDotnetIsolated()
    {
        var resources = Resources(Json("app/api.bicep"));
        var plan = Assert.Single(resources, r => (string)r["type"]! == "Microsoft.Web/serverfarms");
        Assert.Equal("FC1", (string)plan["sku"]!["name"]!);
        Assert.Equal("FlexConsumption", (string)plan["sku"]!["tier"]!);
        var site = Assert.Single(resources, r => (string)r["type"]! == "Microsoft.Web/sites");
        Assert.Equal("functionapp,linux", (string)site["kind"]!);
        Assert.Equal("dotnet-isolated", (string)site["properties"]!["functionAppConfig"]!["runtime"]!["name"]!);
        Assert.Equal("UserAssignedIdentity", (string)site["properties"]!["functionAppConfig"]!["deployment"]!["storage"]!["authentication"]!["type"]!);
        Assert.Equal("UserAssigned", (string)site["identity"]!["type"]!);
        Assert.Equal("[parameters('identityId')]", (string)site["properties"]!["keyVaultReferenceIdentity"]!);
    }

    [Fact]
    public void Api_HostStorage_IsIdentityBasedWithoutKeys()
    {
        var api = bicep.CompiledJson("app/api.bicep");
        foreach (var setting in new[] { "credential", "clientId", "queueServiceUri", "tableServiceUri", "blobServiceUri" })
        {
            Assert.Contains($"'AzureWebJobsStorage__{setting}'", api, StringComparison.Ordinal);
        }

        Assert.Contains("'AzureWebJobsStorage__credential', 'managedidentity'", api, StringComparison.Ordinal);
        Assert.Contains("Authorization=AAD", api, StringComparison.Ordinal);
        foreach (var template in bicep.Templates)
        {
            var json = bicep.CompiledJson(template);
            Assert.DoesNotContain("listKeys", json, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("AccountKey=", json, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("'AzureWebJobsStorage'", json, StringComparison.Ordinal);
            Assert.DoesNotContain("\"AzureWebJobsStorage\"", json, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Storage_Account_HasSharedKeysOffAndEveryQueueTableAndContainer()
    {
        var storage = Json("app/storage.bicep");
        var account = Assert.Single(Resources(storage), r => (string)r["type"]! == "Microsoft.Storage/storageAccounts");
        Assert.False((bool)account["properties"]!["allowSharedKeyAccess"]!);
        Assert.False((bool)account["properties"]!["allowBlobPublicAccess"]!);

        var variables = storage["variables"]!;
        Assert.Equal([StorageNames.OutboundQueue, StorageNames.OutboundPoisonQueue], Strings(variables["queueNames"]!));
        Assert.Equal(
            [StorageNames.DeliveriesTable, StorageNames.StsPoliciesTable, StorageNames.TlsResultsTable, StorageNames.SentTlsReportsTable, StorageNames.ReceivedTlsReportsTable, StorageNames.DestinationLimitsTable, StorageNames.InFlightTable],
            Strings(variables["tableNames"]!));
        Assert.Equal(StorageNames.MessageContainer, Strings(variables["containerNames"]!)[0]);
        Assert.Equal(StorageNames.ReceivedTlsReportContainer, (string)Json("main.bicep")["parameters"]!["rawReportsContainerName"]!["defaultValue"]!);
        Assert.Equal(
            ["outbound-messages", "[parameters('deploymentContainerName')]", "[parameters('rawReportsContainerName')]"],
            Strings(variables["containerNames"]!));
    }

    [Fact]
    public void Rbac_AppIdentity_GetsStorageDataKeyVaultSecretsUserAndMetricsPublisher()
    {
        var rbac = Json("app/rbac.bicep");
        var roles = rbac["variables"]!["roles"]!;
        Assert.Equal("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", (string)roles["storageBlobDataOwner"]!);
        Assert.Equal("974c5e8b-45b9-4653-ba55-5f855dd0fb88", (string)roles["storageQueueDataContributor"]!);
        Assert.Equal("0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", (string)roles["storageTableDataContributor"]!);
        Assert.Equal("4633458b-17de-408a-b874-0445c86b69e6", (string)roles["keyVaultSecretsUser"]!);
        Assert.Equal("3913510d-42f4-4e42-8a64-420c390055eb", (string)roles["monitoringMetricsPublisher"]!);
        Assert.Equal(
            ["[variables('roles').storageBlobDataOwner]", "[variables('roles').storageQueueDataContributor]", "[variables('roles').storageTableDataContributor]"],
            Strings(rbac["variables"]!["appStorageRoles"]!));

        var assignments = Resources(rbac).Where(r => (string)r["type"]! == "Microsoft.Authorization/roleAssignments").ToList();
        var appRoles = assignments
            .Where(r => (string)r["properties"]!["principalId"]! == "[parameters('appPrincipalId')]")
            .Select(r => (string)r["properties"]!["roleDefinitionId"]!)
            .ToList();
        Assert.Contains(appRoles, id => id.Contains("keyVaultSecretsUser", StringComparison.Ordinal));
        Assert.Contains(appRoles, id => id.Contains("monitoringMetricsPublisher", StringComparison.Ordinal));
        Assert.Contains(appRoles, id => id.Contains("copyIndex()", StringComparison.Ordinal));
    }

    [Fact]
    public void Settings_DkimPrivateKey_IsAKeyVaultReference()
    {
        var settings = bicep.CompiledJson("app/settings.bicep");
        Assert.Contains("@Microsoft.KeyVault(SecretUri=", settings, StringComparison.Ordinal);
        Assert.Contains("__PrivateKey", settings, StringComparison.Ordinal);
    }

    [Fact]
    public void Network_Egress_IsNatGatewayWithStaticStandardIp()
    {
        var resources = Resources(Json("app/network.bicep"));
        var ip = Assert.Single(resources, r => (string)r["type"]! == "Microsoft.Network/publicIPAddresses");
        Assert.Equal("Static", (string)ip["properties"]!["publicIPAllocationMethod"]!);
        Assert.Equal("Standard", (string)ip["sku"]!["name"]!);
        Assert.Single(resources, r => (string)r["type"]! == "Microsoft.Network/natGateways");
        var vnet = Assert.Single(resources, r => (string)r["type"]! == "Microsoft.Network/virtualNetworks");
        var subnet = vnet["properties"]!["subnets"]![0]!["properties"]!;
        Assert.NotNull(subnet["natGateway"]);
        Assert.Equal("Microsoft.App/environments", (string)subnet["delegations"]![0]!["properties"]!["serviceName"]!);
    }

    private static string CatalogDefault(string key) => SettingsCatalog.All.Single(s => s.Key == key).Default;

    private JsonNode Json(string template) => JsonNode.Parse(bicep.CompiledJson(template))!;

    // Templates with user-defined types (languageVersion 2.0) key resources by symbolic name.
    private static IEnumerable<JsonNode> Resources(JsonNode template) => template["resources"] switch
    {
        JsonArray array => array.Select(r => r!),
        JsonObject map => map.Select(pair => pair.Value!),
        _ => [],
    };

    private static string[] Strings(JsonNode array) => array.AsArray().Select(n => (string)n!).ToArray();
}
