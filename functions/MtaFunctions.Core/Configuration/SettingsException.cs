namespace MtaFunctions.Core.Configuration;

/// <summary>A setting has a value the code cannot use; start-up stops with this message.</summary>
public sealed class SettingsException(string key, string problem)
    : Exception($"setting {key}: {problem}")
{
    /// <summary>The offending key.</summary>
    public string Key { get; } = key;
}
