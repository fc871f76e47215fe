using System.Net;
using System.Net.Sockets;

namespace MtaFunctions.Core.Delivery;

/// <summary>
/// Refuses outbound connections to addresses that are not the public internet: loopback, private, link-local
/// (the cloud metadata endpoint 169.254.169.254 among them), CGNAT, multicast, unspecified, documentation.
/// </summary>
/// <remarks>
/// Recipient DNS is untrusted input: an MX or an MTA-STS host pointing at 127.0.0.1 or at the metadata
/// service must not make this app talk to itself or to its platform (SSRF). Tests and local runs allow such
/// addresses with <c>Queue:Outbound:AllowPrivateDestinations</c>.
/// </remarks>
public sealed class DestinationGuard(bool allowPrivate)
{
    /// <summary>Whether connecting to <paramref name="address"/> is allowed.</summary>
    public bool IsAllowed(IPAddress address) => allowPrivate || IsPublic(address);

    /// <summary>True for globally routable unicast addresses.</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] == 0 || b[0] == 10 || b[0] == 127 || b[0] >= 224
                     || (b[0] == 100 && b[1] >= 64 && b[1] <= 127)          // CGNAT 100.64/10
                     || (b[0] == 169 && b[1] == 254)                       // link-local, metadata
                     || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
                     || (b[0] == 192 && b[1] == 168)
                     || (b[0] == 192 && b[1] == 0 && b[2] is 0 or 2)        // IETF protocol assignments, TEST-NET-1
                     || (b[0] == 198 && b[1] is 18 or 19)                  // benchmarking
                     || (b[0] == 198 && b[1] == 51 && b[2] == 100)
                     || (b[0] == 203 && b[1] == 0 && b[2] == 113));
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            return !(IPAddress.IsLoopback(address) || address.Equals(IPAddress.IPv6None)
                     || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast
                     || (b[0] & 0xfe) == 0xfc                                // unique local fc00::/7
                     || (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)); // documentation
        }

        return false;
    }
}
