using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Infra;

/// <summary>
/// The top-level layout the project was asked for (DESIGN "Layout"): the Bicep templates in <c>bicep/</c>
/// (azd's <c>infra.path</c>), the az / azd scripts in <c>infra/</c>, and nothing of one in the other.
/// </summary>
public sealed class RepositoryLayoutTests
{
    [Theory]
    [InlineData("functions")]
    [InlineData("tests")]
    [InlineData("infra")]
    [InlineData("bicep")]
    public void TopLevel_Directory_Exists(string name) =>
        Assert.True(Directory.Exists(Path.Combine(RepoPaths.Root, name)), $"top-level '{name}/' is missing");

    [Theory]
    [InlineData("local.settings.json.example")]
    [InlineData("MtaFunctions.sln")]
    [InlineData("README.md")]
    [InlineData("azure.yaml")]
    public void TopLevel_File_Exists(string name) =>
        Assert.True(File.Exists(Path.Combine(RepoPaths.Root, name)), $"top-level '{name}' is missing");

    [Theory]
    [InlineData("main.bicep")]
    [InlineData("main.parameters.json")]
    [InlineData("bicepconfig.json")]
    [InlineData("abbreviations.json")]
    [InlineData("app/api.bicep")]
    [InlineData("app/settings.bicep")]
    public void Bicep_HoldsTheTemplates(string relative) =>
        Assert.True(File.Exists(Path.Combine(RepoPaths.Root, "bicep", relative)), $"bicep/{relative} is missing");

    [Fact]
    public void Infra_HoldsScriptsOnly()
    {
        var infra = Path.Combine(RepoPaths.Root, "infra");
        var files = Directory.GetFiles(infra, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(infra, f)).ToList();
        Assert.Contains("deploy.sh", files);
        Assert.All(files, f => Assert.True(f.EndsWith(".sh", StringComparison.Ordinal), $"infra/{f} is not a script (Bicep lives in bicep/)"));
    }
}
