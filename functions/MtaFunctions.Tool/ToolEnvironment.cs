using Azure.Core;

namespace MtaFunctions.Tool;

/// <summary>Where the tool writes, where it looks for settings, and the seams tests use.</summary>
/// <param name="Out">Standard output: results.</param>
/// <param name="Error">Standard error: errors and usage.</param>
/// <param name="WorkingDirectory">Where <c>local.settings.json</c> is looked for.</param>
public sealed record ToolEnvironment(TextWriter Out, TextWriter Error, string WorkingDirectory)
{
    /// <summary>Whether environment variables are read (off in tests, which pass everything explicitly).</summary>
    public bool ReadEnvironment { get; init; } = true;

    /// <summary>The Entra ID credential for <c>--account</c> / service URIs; default <c>DefaultAzureCredential</c>.</summary>
    public TokenCredential? Credential { get; init; }

    /// <summary>The clock (tests); default the system's.</summary>
    public TimeProvider? Time { get; init; }

    /// <summary>Adjusts the storage client options (a test's trusted CA).</summary>
    public Action<ClientOptions>? ConfigureStorageClients { get; init; }
}
