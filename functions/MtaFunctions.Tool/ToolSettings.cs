using Microsoft.Extensions.Configuration;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Configuration;

namespace MtaFunctions.Tool;

/// <summary>
/// The app's settings as the Function App finds them: <c>local.settings.json</c> (<c>--settings FILE</c>, else the
/// one in the current directory, else the Function App's <c>functions/MtaFunctions/local.settings.json</c> below it),
/// then the environment, then <c>--set Key=value</c>; <c>--connection-string</c> and <c>--account</c> choose the storage.
/// </summary>
public static class ToolSettings
{
    /// <summary>Builds the configuration.</summary>
    /// <exception cref="ToolUsageException">A file given is missing or a --set has no '='.</exception>
    public static IConfiguration Build(ToolEnvironment env, string? settingsFile, IReadOnlyList<string> sets, string? connectionString, string? account)
    {
        var builder = new ConfigurationBuilder();
        var file = LocalSettingsFile(env, settingsFile);
        if (file is not null)
        {
            builder.AddLocalSettings(file);
        }

        if (env.ReadEnvironment)
        {
            builder.AddEnvironmentVariables();
        }

        var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var set in sets)
        {
            var eq = set.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ToolUsageException($"--set '{set}': expected Key=value (sections joined by __ or :)");
            }

            overrides[set[..eq].Replace("__", ":", StringComparison.Ordinal)] = set[(eq + 1)..];
        }

        if (connectionString is not null && account is not null)
        {
            throw new ToolUsageException("--connection-string and --account exclude each other");
        }

        if (connectionString is not null)
        {
            overrides[StorageNames.ConnectionSetting] = connectionString;
        }

        if (account is not null)
        {
            if (!System.Text.RegularExpressions.Regex.IsMatch(account, "^[a-z0-9]{3,24}$"))
            {
                throw new ToolUsageException($"--account '{account}': a storage account name is 3-24 lower-case letters and digits");
            }

            // Keyless: the service URIs of the account with an Entra ID credential, as the deployed app uses it.
            overrides[StorageNames.ConnectionSetting] = null;
            overrides[$"{StorageNames.ConnectionSetting}:queueServiceUri"] = $"https://{account}.queue.core.windows.net";
            overrides[$"{StorageNames.ConnectionSetting}:tableServiceUri"] = $"https://{account}.table.core.windows.net";
            overrides[$"{StorageNames.ConnectionSetting}:blobServiceUri"] = $"https://{account}.blob.core.windows.net";
        }

        builder.AddInMemoryCollection(overrides);
        return builder.Build();
    }

    private static string? LocalSettingsFile(ToolEnvironment env, string? settingsFile)
    {
        if (settingsFile is not null)
        {
            var path = Path.GetFullPath(settingsFile, env.WorkingDirectory);
            return File.Exists(path) ? path : throw new ToolUsageException($"--settings: '{path}' does not exist");
        }

        foreach (var candidate in new[] { "local.settings.json", Path.Combine("functions", "MtaFunctions", "local.settings.json") })
        {
            var path = Path.Combine(env.WorkingDirectory, candidate);
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }
}
