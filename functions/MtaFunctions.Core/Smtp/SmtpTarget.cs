using System.Net;

namespace MtaFunctions.Core.Smtp;

/// <summary>One address of one MX host: where a session goes.</summary>
/// <param name="MxHost">The MX host name: SNI and the certificate name check use it, not the IP.</param>
/// <param name="Address">The address connected to.</param>
/// <param name="Port">TCP port.</param>
public sealed record SmtpTarget(string MxHost, IPAddress Address, int Port)
{
    public override string ToString() => $"{MxHost}[{Address}]:{Port}";
}
