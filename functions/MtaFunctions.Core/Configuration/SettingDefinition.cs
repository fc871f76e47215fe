namespace MtaFunctions.Core.Configuration;

/// <summary>One documented setting: its key, its default as written in settings, and what it does.</summary>
/// <param name="Key">The configuration key (':' separated).</param>
/// <param name="Default">The default as a settings string; empty when the default is "unset".</param>
/// <param name="Description">One line for README and local.settings.json.example.</param>
public sealed record SettingDefinition(string Key, string Default, string Description)
{
    /// <summary>The app-setting / environment variable name (<c>__</c> for <c>:</c>).</summary>
    public string EnvironmentName => Key.Replace(":", "__", StringComparison.Ordinal);
}
