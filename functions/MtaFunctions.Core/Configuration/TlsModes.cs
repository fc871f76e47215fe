namespace MtaFunctions.Core.Configuration;

/// <summary>The seed's <c>queue.outbound.tls.starttls</c> values.</summary>
public enum StartTlsMode
{
    /// <summary>Upgrade when the server offers STARTTLS.</summary>
    Optional,

    /// <summary>Defer when the server does not offer STARTTLS.</summary>
    Require,

    /// <summary>Never upgrade (only under a custom rule).</summary>
    Disable,
}

/// <summary>The seed's values of <c>queue.outbound.tls.dane</c> and <c>queue.outbound.tls.mta-sts</c>.</summary>
public enum PolicyMode
{
    /// <summary>Apply the policy when the destination publishes one.</summary>
    Optional,

    /// <summary>Defer destinations that publish no valid policy.</summary>
    Require,

    /// <summary>Never look the policy up.</summary>
    Disable,
}

/// <summary>The TLS keys that a per-domain rule may override.</summary>
/// <param name="StartTls">STARTTLS mode.</param>
/// <param name="AllowInvalidCerts">Accept invalid certificates when no policy demands a valid one.</param>
/// <param name="Dane">DANE mode.</param>
/// <param name="MtaSts">MTA-STS mode.</param>
public sealed record TlsSettings(StartTlsMode StartTls, bool AllowInvalidCerts, PolicyMode Dane, PolicyMode MtaSts)
{
    /// <summary>The seed's defaults: everything optional, invalid certificates refused.</summary>
    public static TlsSettings Default { get; } = new(StartTlsMode.Optional, false, PolicyMode.Optional, PolicyMode.Optional);
}
