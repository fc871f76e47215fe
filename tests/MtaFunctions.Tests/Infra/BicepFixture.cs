using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Infra;

/// <summary>
/// Builds and lints every template under <c>bicep/</c> once (two Bicep CLI runs, about 2 s each) and
/// keeps the results and the compiled ARM JSON for the tests of the class.
/// </summary>
public sealed class BicepFixture : IAsyncLifetime
{
    /// <summary>The <c>bicep/</c> folder of the repository.</summary>
    public string TemplateDirectory { get; } = Path.Combine(RepoPaths.Root, "bicep");

    /// <summary>Where <c>bicep build</c> wrote the ARM JSON (same relative paths as the templates).</summary>
    public string OutputDirectory { get; } = Path.Combine(Path.GetTempPath(), "mta-bicep-" + Guid.NewGuid().ToString("N"));

    /// <summary>Every <c>.bicep</c> file, relative to <see cref="TemplateDirectory"/>.</summary>
    public IReadOnlyList<string> Templates { get; private set; } = [];

    public CommandResult Build { get; private set; } = null!;

    public CommandResult Lint { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Templates = Directory.GetFiles(TemplateDirectory, "*.bicep", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(TemplateDirectory, path))
            .Order(StringComparer.Ordinal)
            .ToList();
        Build = await BicepCli.RunAsync(TemplateDirectory, "build", "--pattern", "**/*.bicep", "--outdir", OutputDirectory);
        Lint = await BicepCli.RunAsync(TemplateDirectory, "lint", "--pattern", "**/*.bicep");
    }

    /// <summary>The compiled ARM JSON of a template, e.g. <c>app/api.bicep</c>.</summary>
    public string CompiledJson(string template) =>
        File.ReadAllText(Path.Combine(OutputDirectory, Path.ChangeExtension(template, ".json")));

    public ValueTask DisposeAsync()
    {
        if (Directory.Exists(OutputDirectory))
        {
            Directory.Delete(OutputDirectory, recursive: true);
        }

        return ValueTask.CompletedTask;
    }
}
