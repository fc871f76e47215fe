using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>
/// A loopback TCP proxy in front of a storage endpoint that holds every request whose bytes contain a marker
/// (e.g. one table's name in the request line) for a while: slow storage for one kind of request, on real sockets.
/// </summary>
/// <remarks>
/// A held request whose client went away meanwhile (a process killed with SIGKILL) is dropped, as the network
/// drops what a dead process never finished sending. HTTP/1.1 requests on one connection are serial, so holding a
/// chunk holds that request only.
/// </remarks>
public sealed class SlowRequestProxy : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly IPEndPoint _target;
    private readonly byte[] _marker;
    private readonly TimeSpan _hold;
    private int _held;
    private int _dropped;

    public SlowRequestProxy(Uri target, string marker, TimeSpan hold)
    {
        _target = new IPEndPoint(IPAddress.Parse(target.Host), target.Port);
        _marker = Encoding.ASCII.GetBytes(marker);
        _hold = hold;
        _listener.Start();
        _ = AcceptAsync();
    }

    /// <summary>The proxy's port on 127.0.0.1.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Requests held so far.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>Held requests dropped because their client had gone.</summary>
    public int Dropped => Volatile.Read(ref _dropped);

    /// <summary><paramref name="endpoint"/> with its host and port replaced by the proxy's.</summary>
    public Uri Via(Uri endpoint) => new UriBuilder(endpoint) { Host = "127.0.0.1", Port = Port }.Uri;

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using (client)
        {
            try
            {
                await server.ConnectAsync(_target, _stop.Token);
                var back = CopyAsync(server, client);
                var buffer = new byte[64 * 1024];
                while (true)
                {
                    var read = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    if (read == 0)
                    {
                        break;
                    }

                    if (buffer.AsSpan(0, read).IndexOf(_marker) >= 0)
                    {
                        Interlocked.Increment(ref _held);
                        await Task.Delay(_hold, _stop.Token);

                        // Readable with nothing to read: the client closed (or was killed) while the request was held.
                        if (client.Poll(0, SelectMode.SelectRead) && client.Available == 0)
                        {
                            Interlocked.Increment(ref _dropped);
                            break;
                        }
                    }

                    await server.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
                }

                server.Shutdown(SocketShutdown.Both);
                await back;
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task CopyAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }
}
