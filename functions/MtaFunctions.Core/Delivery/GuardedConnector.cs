using System.Net;
using System.Net.Sockets;
using MtaFunctions.Core.Dns;

namespace MtaFunctions.Core.Delivery;

/// <summary>
/// Opens TCP connections for outbound HTTPS (MTA-STS policy fetches, TLS report uploads) the way SMTP
/// connects: the host is resolved through our own DNS settings, and addresses the
/// <see cref="DestinationGuard"/> refuses are never connected to (SSRF: the host name came from untrusted DNS).
/// </summary>
/// <remarks>Use it as <c>SocketsHttpHandler.ConnectCallback</c>.</remarks>
public sealed class GuardedConnector(IDnsResolver dns, DestinationGuard guard)
{
    /// <summary>Connects to the first reachable allowed address of <paramref name="host"/> (a name or an IP literal).</summary>
    /// <exception cref="HttpRequestException">No address, only refused addresses, or every connection failed; the message says which.</exception>
    public async ValueTask<Stream> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        IReadOnlyList<IPAddress> addresses;
        if (IPAddress.TryParse(host, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            var answer = await dns.QueryAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            if (answer.Status != DnsStatus.Found)
            {
                throw new HttpRequestException($"address lookup of {host}: {answer.Status}{(answer.Error is null ? "" : $" ({answer.Error})")}");
            }

            addresses = answer.Records;
        }

        var allowed = addresses.Where(guard.IsAllowed).ToList();
        if (allowed.Count == 0)
        {
            throw new HttpRequestException($"{host} resolves only to non-public addresses ({string.Join(", ", addresses)}); refused");
        }

        SocketException? last = null;
        foreach (var address in allowed)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw new HttpRequestException($"connect to {host}: {last?.SocketErrorCode}", last);
    }
}
