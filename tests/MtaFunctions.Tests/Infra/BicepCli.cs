namespace MtaFunctions.Tests.Infra;

/// <summary>
/// The Bicep CLI of NuGet package Azure.Bicep.CommandLine.linux-x64 (a &lt;PackageDownload&gt; of this
/// test project, so restoring the tests fetches it once; it runs fully offline).
/// </summary>
public static class BicepCli
{
    /// <summary>The version the test project downloads.</summary>
    public const string Version = "0.49.2";

    /// <summary>The path of <c>tools/bicep</c>; <c>BICEP_PATH</c> overrides it.</summary>
    public static string Path { get; } = Locate();

    private static string Locate()
    {
        if (Environment.GetEnvironmentVariable("BICEP_PATH") is { Length: > 0 } overridden)
        {
            return overridden;
        }

        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var bicep = System.IO.Path.Combine(packages, "azure.bicep.commandline.linux-x64", Version, "tools", "bicep");
        if (!File.Exists(bicep))
        {
            throw new FileNotFoundException($"Bicep CLI not found at {bicep}; restore tests/MtaFunctions.Tests (it downloads Azure.Bicep.CommandLine.linux-x64 {Version})", bicep);
        }

        // The package stores the binary as rwxr--r--: make sure whoever runs the tests may execute it.
        if (OperatingSystem.IsWindows())
        {
            return bicep;
        }

        var mode = File.GetUnixFileMode(bicep);
        const UnixFileMode execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        if ((mode & execute) != execute)
        {
            try
            {
                File.SetUnixFileMode(bicep, mode | execute);
            }
            catch (UnauthorizedAccessException)
            {
                // Not the owner: the owner's execute bit is then the one that counts, and it is set.
            }
        }

        return bicep;
    }

    /// <summary>Runs the CLI in <paramref name="workingDirectory"/>.</summary>
    public static Task<CommandResult> RunAsync(string workingDirectory, params string[] arguments) =>
        CommandLine.RunAsync(Path, arguments, workingDirectory, new Dictionary<string, string>
        {
            // No telemetry, no update checks: nothing may leave the machine.
            ["BICEP_TRACING_ENABLED"] = "false",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        });
}
