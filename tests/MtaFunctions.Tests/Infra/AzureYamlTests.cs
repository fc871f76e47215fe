using System.Text.RegularExpressions;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Infra;

/// <summary><c>azure.yaml</c> (azd): the service azd deploys is the Function App project, on the Bicep of <c>bicep/</c>.</summary>
public sealed partial class AzureYamlTests
{
    private static readonly string Yaml = File.ReadAllText(Path.Combine(RepoPaths.Root, "azure.yaml"));

    [Fact]
    public void Service_Api_IsTheFunctionAppProject()
    {
        var service = ServiceBlock().Match(Yaml);
        Assert.True(service.Success, "azure.yaml has no services: api: block");
        var body = service.Groups["body"].Value;
        Assert.Matches(@"(?m)^\s+host: function\s*$", body);
        Assert.Matches(@"(?m)^\s+language: dotnet\s*$", body);

        var project = Regex.Match(body, @"(?m)^\s+project: (?<path>\S+)\s*$").Groups["path"].Value;
        Assert.True(File.Exists(Path.Combine(RepoPaths.Root, project, "MtaFunctions.csproj")), $"azure.yaml project '{project}' is not functions/MtaFunctions");
    }

    [Fact]
    public void Service_Name_MatchesTheTagOfTheFunctionApp()
    {
        // azd finds the app to deploy to by its azd-service-name tag (bicep/app/api.bicep).
        var api = File.ReadAllText(Path.Combine(RepoPaths.Root, "bicep", "app", "api.bicep"));
        Assert.Contains("param serviceName string = 'api'", api, StringComparison.Ordinal);
        Assert.Contains("'azd-service-name': serviceName", api, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^infra:\s*\n(\s+.*\n)*?\s+path: bicep\s*$", Yaml);
    }

    [GeneratedRegex(@"(?m)^services:\s*\n\s+api:\s*\n(?<body>(\s{4,}.*\n?)+)")]
    private static partial Regex ServiceBlock();
}
