using System.Net;
using MtaFunctions.Core.Configuration;

namespace MtaFunctions.Core.Smtp;

/// <summary>One address of one MX host (or route host): where a session goes.</summary>
/// <param name="MxHost">The MX host name: SNI and the certificate name check use it, not the IP.</param>
/// <param name="Address">The address connected to.</param>
/// <param name="Port">TCP port.</param>
public sealed record SmtpTarget(string MxHost, IPAddress Address, int Port)
{
    /// <summary>TLS from the first byte (a route with <c>ImplicitTls</c>, RFC 8314 §3.3) instead of STARTTLS.</summary>
    public bool ImplicitTls { get; init; }

    /// <summary>SMTP AUTH credentials of a route; only ever sent over TLS.</summary>
    public NetworkCredential? Credentials { get; init; }

    /// <summary>What the fleet-wide limits count against: the MX host, or <c>route:&lt;name&gt;</c>.</summary>
    public string? Destination { get; init; }

    /// <summary>The fleet-wide limit of <see cref="Destination"/>; null = not limited (report mail to a test sink, tools).</summary>
    public DestinationLimit? Limit { get; init; }

    public override string ToString() => $"{MxHost}[{Address}]:{Port}";
}
