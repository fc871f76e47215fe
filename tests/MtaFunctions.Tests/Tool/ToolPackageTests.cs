using System.Diagnostics;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Tool;

/// <summary>
/// The README's install commands, run as written: <c>dotnet pack</c> of the tool, then <c>dotnet tool install</c>
/// from that folder, then <c>mta --help</c>. The only changes: the output folder is a temp folder, the tool goes to
/// a tool path instead of the global tools, and NuGet reads only that folder (tests talk to loopback only).
/// </summary>
public sealed class ToolPackageTests
{
    [Fact]
    public async Task ReadmeInstallCommands_PackInstallAndRunMtaHelp()
    {
        var readme = await File.ReadAllLinesAsync(Path.Combine(RepoPaths.Root, "README.md"), TestContext.Current.CancellationToken);
        var pack = Command(readme, "dotnet pack ");
        var install = Command(readme, "dotnet tool install ");
        Assert.Contains("-o ./artifacts", pack, StringComparison.Ordinal);
        Assert.Contains("--add-source ./artifacts", install, StringComparison.Ordinal);
        Assert.Contains("--global", install, StringComparison.Ordinal);

        var temp = Directory.CreateTempSubdirectory("mta-pack").FullName;
        var artifacts = Path.Combine(temp, "artifacts");
        var tools = Path.Combine(temp, "tools");
        var nugetConfig = Path.Combine(temp, "nuget.config");
        await File.WriteAllTextAsync(nugetConfig, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><clear /><add key="artifacts" value="{artifacts}" /></packageSources></configuration>
            """, TestContext.Current.CancellationToken);

        var packed = await RunAsync(pack.Replace("./artifacts", artifacts, StringComparison.Ordinal));
        Assert.True(packed.Exit == 0, packed.Output);
        Assert.Single(Directory.GetFiles(artifacts, "MtaFunctions.Tool.*.nupkg"));

        var installed = await RunAsync(install
            .Replace("./artifacts", artifacts, StringComparison.Ordinal)
            .Replace("--global", $"--tool-path {tools}", StringComparison.Ordinal) + $" --configfile {nugetConfig}");
        Assert.True(installed.Exit == 0, installed.Output);

        var help = await RunAsync($"{Path.Combine(tools, "mta")} --help");
        Assert.True(help.Exit == 0, help.Output);
        Assert.Contains("Usage:", help.Output, StringComparison.Ordinal);
        Assert.Contains("tlsrpt", help.Output, StringComparison.Ordinal);
    }

    /// <summary>The README line starting with <paramref name="start"/>, its trailing comment cut.</summary>
    private static string Command(string[] readme, string start)
    {
        var line = Assert.Single(readme, l => l.StartsWith(start, StringComparison.Ordinal));
        var comment = line.IndexOf('#', StringComparison.Ordinal);
        return (comment < 0 ? line : line[..comment]).Trim();
    }

    private static async Task<(int Exit, string Output)> RunAsync(string command)
    {
        var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var psi = new ProcessStartInfo(words[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var word in words.Skip(1))
        {
            psi.ArgumentList.Add(word);
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{words[0]} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, $"$ {command}\n{await stdout}{await stderr}");
    }
}
