using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Policy.MtaSts;

/// <summary>
/// An HTTPS policy host on 127.0.0.1 made of a bare <see cref="SslStream"/>: it serves any certificate, also
/// those Kestrel refuses to serve (a client-auth-only EKU), and answers every request with one policy.
/// </summary>
public sealed class RawTlsPolicyServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public RawTlsPolicyServer(X509Certificate2 certificate, string policy)
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync(certificate, Encoding.ASCII.GetBytes(
            $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {policy.Length}\r\nConnection: close\r\n\r\n{policy}"));
    }

    /// <summary>The TCP port (<c>Queue:Outbound:MtaSts:Port</c>).</summary>
    public int Port { get; }

    /// <summary>TLS handshakes that completed (the client accepted the certificate).</summary>
    public int Handshakes => Volatile.Read(ref _handshakes);

    private int _handshakes;

    private async Task AcceptAsync(X509Certificate2 certificate, byte[] response)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using var _ = client;
                try
                {
                    await using var ssl = new SslStream(client.GetStream());
                    await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                    {
                        ServerCertificate = certificate,
                        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    });
                    Interlocked.Increment(ref _handshakes);
                    // Read the request up to the end of its headers, then answer.
                    var request = new List<byte>();
                    var buffer = new byte[1024];
                    while (!Encoding.ASCII.GetString(request.ToArray()).Contains("\r\n\r\n", StringComparison.Ordinal)
                           && await ssl.ReadAsync(buffer) is var n and > 0)
                    {
                        request.AddRange(buffer.AsSpan(0, n).ToArray());
                    }

                    await ssl.WriteAsync(response);
                }
                catch (Exception e) when (e is IOException or AuthenticationException or SocketException)
                {
                    // The client refused the certificate.
                }
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting.WaitAsync(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }
}
