namespace MtaFunctions.Core.Configuration;

/// <summary>
/// Why a reporting feature is off although its settings asked for it: the key that could not be used and
/// the reason, as <see cref="SettingsException"/> states them. Reporting settings never stop delivery; a
/// bad one switches its feature off, is logged at start-up and is shown by <c>tlsrpt pending</c>.
/// </summary>
/// <param name="Key">The offending key.</param>
/// <param name="Message">The whole message, <c>setting KEY: problem</c>.</param>
public sealed record SettingsProblem(string Key, string Message)
{
    /// <summary>The problem a <see cref="SettingsException"/> describes.</summary>
    public static SettingsProblem From(SettingsException e) => new(e.Key, e.Message);
}
