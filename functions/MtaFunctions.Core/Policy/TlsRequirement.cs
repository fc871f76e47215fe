namespace MtaFunctions.Core.Policy;

/// <summary>Whether a session to one MX uses STARTTLS.</summary>
public enum TlsRequirement
{
    /// <summary>Never issue STARTTLS.</summary>
    Disabled,

    /// <summary>Issue STARTTLS when the server offers it; plaintext otherwise.</summary>
    Opportunistic,

    /// <summary>The server must offer STARTTLS; the MX fails otherwise.</summary>
    Required,
}
