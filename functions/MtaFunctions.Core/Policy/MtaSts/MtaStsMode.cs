namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>The <c>mode</c> of an MTA-STS policy (RFC 8461 §3.2).</summary>
public enum MtaStsMode
{
    /// <summary>Deliver only to matching MX hosts with a valid certificate.</summary>
    Enforce,

    /// <summary>Deliver as without a policy; report failures (TLS-RPT).</summary>
    Testing,

    /// <summary>No policy (used to opt out, RFC 8461 §8.3).</summary>
    None,
}

/// <summary>Wire words of <see cref="MtaStsMode"/>.</summary>
public static class MtaStsModeWords
{
    /// <summary>"enforce", "testing" or "none".</summary>
    public static string ToWire(this MtaStsMode mode) => mode switch
    {
        MtaStsMode.Enforce => "enforce",
        MtaStsMode.Testing => "testing",
        _ => "none",
    };

    /// <summary>The mode of a wire word, or null; case-insensitive like every quoted ABNF string (RFC 5234 §2.3).</summary>
    public static MtaStsMode? Parse(string word) => word.ToLowerInvariant() switch
    {
        "enforce" => MtaStsMode.Enforce,
        "testing" => MtaStsMode.Testing,
        "none" => MtaStsMode.None,
        _ => null,
    };
}
