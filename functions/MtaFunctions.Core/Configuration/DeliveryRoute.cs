namespace MtaFunctions.Core.Configuration;

/// <summary>
/// A next hop that replaces the MX lookup of the recipient domain: the global relay (<c>Queue:Outbound:Relay</c>,
/// Postfix <c>relayhost</c>) or a per-domain route (<c>Queue:Outbound:Routes:&lt;n&gt;</c>, Stalwart's next-hop).
/// </summary>
/// <remarks>
/// A route names either a host (<c>host[:port]</c>: no MX lookup, like Postfix <c>relayhost = [host]:port</c>; DANE
/// and MTA-STS do not apply, the route's own TLS requirement does) or an MX domain (its MX hosts are used, with
/// that domain's DANE and MTA-STS policies, like <c>relayhost = domain</c>).
/// </remarks>
public sealed record DeliveryRoute
{
    /// <summary>Where it was configured (<c>Queue:Outbound:Relay</c>, <c>Queue:Outbound:Routes:0</c>); shown in status.</summary>
    public required string Name { get; init; }

    /// <summary>The next-hop host name or IP literal; null when <see cref="MxDomain"/> is set.</summary>
    public string? Host { get; init; }

    /// <summary>TCP port of <see cref="Host"/> (default 25, or 465 with implicit TLS); MX hosts of <see cref="MxDomain"/> use <c>Queue:Outbound:Smtp:Port</c>.</summary>
    public int Port { get; init; } = 25;

    /// <summary>A domain whose MX hosts are the next hop (and whose DANE / MTA-STS policies apply); null when <see cref="Host"/> is set.</summary>
    public string? MxDomain { get; init; }

    /// <summary>TLS from the first byte (SMTPS, port 465, RFC 8314 §3.3) instead of STARTTLS.</summary>
    public bool ImplicitTls { get; init; }

    /// <summary>STARTTLS requirement of a host route: <c>require</c> by default (a relay carries all our mail).</summary>
    public StartTlsMode StartTls { get; init; } = StartTlsMode.Require;

    /// <summary>Accept a certificate that does not verify (private relays with their own CA should use ExtraRootCas instead).</summary>
    public bool AllowInvalidCerts { get; init; }

    /// <summary>SMTP AUTH user (PLAIN or LOGIN, only over TLS); null = no AUTH.</summary>
    public string? Username { get; init; }

    /// <summary>SMTP AUTH password; in Azure a Key Vault reference app setting.</summary>
    public string? Password { get; init; }

    /// <summary>Concurrent connections to this route across the fleet; null = <c>Queue:Outbound:Limits:MaxConnections</c>.</summary>
    public int? MaxConnections { get; init; }

    /// <summary>Messages per minute to this route across the fleet; null = <c>Queue:Outbound:Limits:MessagesPerMinute</c>.</summary>
    public int? MessagesPerMinute { get; init; }

    /// <summary>What status shows: the route's name and next hop.</summary>
    public string Describe() =>
        Host is not null ? $"route {Name} {Host}:{Port}{(ImplicitTls ? " tls" : "")}" : $"route {Name} mx {MxDomain}";
}
