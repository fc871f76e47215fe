using System.Net;
using System.Net.Sockets;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>Picks TCP/UDP ports that are free on loopback right now.</summary>
public static class FreePort
{
    /// <summary>A port free for both TCP and UDP on 127.0.0.1.</summary>
    public static int Next()
    {
        for (var i = 0; i < 50; i++)
        {
            using var tcp = new TcpListener(IPAddress.Loopback, 0);
            tcp.Start();
            var port = ((IPEndPoint)tcp.LocalEndpoint).Port;
            try
            {
                using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException("no free port");
    }
}
