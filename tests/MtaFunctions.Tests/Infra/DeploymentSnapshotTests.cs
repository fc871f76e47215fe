using System.Text.Json.Nodes;

namespace MtaFunctions.Tests.Infra;

/// <summary>
/// What the template deploys for an azd environment, evaluated offline (<see cref="BicepSnapshot"/>): the
/// deployer's data roles on the keyless account (the <c>mta</c> tool with Entra ID), the outputs the tool
/// and the telemetry use, and the NAT gateway's IP handed to the app as its egress address.
/// </summary>
public sealed class DeploymentSnapshotTests
{
    private const string Deployer = "00000000-0000-0000-0000-00000000beef";

    [Fact]
    public async Task Deployer_GetsTheDataRolesTheToolNeedsOnTheStorageAccountAndSecretsOfficer()
    {
        var snapshot = await Snapshot(("AZURE_PRINCIPAL_ID", Deployer), ("MAIL_DOMAIN", "example.com"));
        var deployerRoles = snapshot.Resources("Microsoft.Authorization/roleAssignments")
            .Where(r => (string)r["properties"]!["principalId"]! == Deployer)
            .Select(r => ((string)r["properties"]!["roleDefinitionId"]!).Split('/')[^1])
            .Order(StringComparer.Ordinal)
            .ToList();

        // mta send: queue message + message blob; mta status / queue / tlsrpt: tables and queue reads;
        // the hook / deploy.sh: the DKIM secrets.
        Assert.Equal(
            new[]
            {
                "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", // Storage Table Data Contributor
                "974c5e8b-45b9-4653-ba55-5f855dd0fb88", // Storage Queue Data Contributor
                "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", // Key Vault Secrets Officer
                "ba92f5b4-2d11-453d-a403-e96b0029c9fe", // Storage Blob Data Contributor
            },
            deployerRoles);
        Assert.All(
            snapshot.Resources("Microsoft.Authorization/roleAssignments").Where(r => (string)r["properties"]!["principalId"]! == Deployer),
            r => Assert.Equal("User", (string)r["properties"]!["principalType"]!));
    }

    [Fact]
    public async Task NoDeployer_NoDeployerRoles()
    {
        var snapshot = await Snapshot();
        Assert.All(
            snapshot.Resources("Microsoft.Authorization/roleAssignments"),
            r => Assert.StartsWith("[reference(", (string)r["properties"]!["principalId"]!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Outputs_GiveTheToolItsEndpointsAndTheTelemetryConnectionString()
    {
        var snapshot = await Snapshot();
        var account = snapshot.Output("AZURE_STORAGE_ACCOUNT_NAME");
        foreach (var (output, service) in new[] { ("AZURE_STORAGE_QUEUE_ENDPOINT", "queue"), ("AZURE_STORAGE_TABLE_ENDPOINT", "table"), ("AZURE_STORAGE_BLOB_ENDPOINT", "blob") })
        {
            var value = snapshot.Output(output);
            Assert.Contains($"/storageAccounts/{account}'", value, StringComparison.Ordinal);
            Assert.EndsWith($".primaryEndpoints.{service}]", value, StringComparison.Ordinal);
        }

        // The same value the app gets as APPLICATIONINSIGHTS_CONNECTION_STRING (the exporter's setting).
        var connectionString = snapshot.Output("APPLICATIONINSIGHTS_CONNECTION_STRING");
        Assert.Contains("Microsoft.Insights/components/", connectionString, StringComparison.Ordinal);
        Assert.EndsWith(".ConnectionString]", connectionString, StringComparison.Ordinal);
        Assert.Equal(connectionString, snapshot.AppSettings()["APPLICATIONINSIGHTS_CONNECTION_STRING"]);
    }

    [Fact]
    public async Task Vnet_NatGatewayIp_IsTheAppsEgressIpSetting()
    {
        var snapshot = await Snapshot(("VNET_ENABLED", "true"), ("MAIL_DOMAIN", "example.com"));
        var publicIp = Assert.Single(snapshot.Resources("Microsoft.Network/publicIPAddresses"));
        Assert.Equal("Static", (string)publicIp["properties"]!["publicIPAllocationMethod"]!);

        var setting = snapshot.AppSettings()["Queue__Outbound__EgressIps"];
        Assert.Contains($"/providers/Microsoft.Network/publicIPAddresses/{publicIp["name"]}'", setting, StringComparison.Ordinal);
        Assert.EndsWith(".ipAddress]", setting, StringComparison.Ordinal);
        Assert.Equal(DeployedAppSettings.EgressIp, DeployedAppSettings.Resolve(snapshot.AppSettings(), new Dictionary<string, string>())["Queue__Outbound__EgressIps"]);
    }

    [Fact]
    public async Task NoVnet_EgressIpSettingEmpty()
    {
        var snapshot = await Snapshot();
        Assert.Empty(snapshot.Resources("Microsoft.Network/publicIPAddresses"));
        Assert.Equal("", snapshot.AppSettings()["Queue__Outbound__EgressIps"]);
    }

    private static Task<BicepSnapshot> Snapshot(params (string Name, string Value)[] environment)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["AZURE_ENV_NAME"] = "test",
            ["AZURE_LOCATION"] = "swedencentral",
        };
        foreach (var (name, value) in environment)
        {
            values[name] = value;
        }

        return BicepSnapshot.OfAzdEnvironmentAsync(values);
    }
}
