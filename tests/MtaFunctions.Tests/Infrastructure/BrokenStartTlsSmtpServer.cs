using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>How <see cref="BrokenStartTlsSmtpServer"/> answers STARTTLS.</summary>
public enum StartTlsBreakage
{
    /// <summary>EHLO offers STARTTLS, the command gets <c>454 4.7.0 TLS not available due to temporary reason</c>.</summary>
    Refuse454,

    /// <summary><c>220</c>, then bytes that are no TLS record, then the connection is closed.</summary>
    GarbageHandshake,

    /// <summary><c>220</c>, then a TLS server that speaks only TLS 1.0 (refused by our TLS 1.2+ client).</summary>
    Tls10Only,

    /// <summary>EHLO does not offer STARTTLS: a plaintext peer (for breakages elsewhere in the session).</summary>
    NotOffered,
}

/// <summary>
/// A hand-written SMTP server on a loopback address whose STARTTLS is broken in one of the ways of
/// <see cref="StartTlsBreakage"/>, while plaintext transactions work and are kept byte for byte.
/// </summary>
public sealed class BrokenStartTlsSmtpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly StartTlsBreakage _breakage;
    private readonly X509Certificate2? _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _sessions;
    private int _startTls;

    public BrokenStartTlsSmtpServer(IPAddress address, int port, StartTlsBreakage breakage, X509Certificate2? certificate = null)
    {
        _breakage = breakage;
        _certificate = certificate;
        _listener = new TcpListener(address, port);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>Messages received (always in plaintext: TLS never comes up), as DATA carried them (dot-unstuffed).</summary>
    public ConcurrentQueue<byte[]> Inbox { get; } = new();

    /// <summary>
    /// When set, the server reads the whole message after DATA and closes the connection without a reply:
    /// the message may or may not have been taken (RFC 1047), the client cannot know.
    /// </summary>
    public bool DropAfterBody { get; init; }

    /// <summary>Connections accepted so far.</summary>
    public int SessionCount => Volatile.Read(ref _sessions);

    /// <summary>STARTTLS commands received so far.</summary>
    public int StartTlsCount => Volatile.Read(ref _startTls);

    private async Task AcceptAsync()
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

            Interlocked.Increment(ref _sessions);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        try
        {
            await WriteAsync(stream, "220 broken-starttls ESMTP\r\n");
            while (await ReadLineAsync(stream) is { } line)
            {
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await WriteAsync(stream, _breakage == StartTlsBreakage.NotOffered
                            ? "250-broken-starttls\r\n250 8BITMIME\r\n"
                            : "250-broken-starttls\r\n250-8BITMIME\r\n250 STARTTLS\r\n");
                        break;
                    case "STARTTLS":
                        Interlocked.Increment(ref _startTls);
                        if (!await BreakStartTlsAsync(stream))
                        {
                            return;
                        }

                        break;
                    case "DATA":
                        await WriteAsync(stream, "354 go ahead\r\n");
                        Inbox.Enqueue(await ReadDataAsync(stream));
                        if (DropAfterBody)
                        {
                            return;
                        }

                        await WriteAsync(stream, "250 2.0.0 queued\r\n");
                        break;
                    case "QUIT":
                        await WriteAsync(stream, "221 2.0.0 bye\r\n");
                        return;
                    default:
                        await WriteAsync(stream, "250 2.0.0 ok\r\n");
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or AuthenticationException or ObjectDisposedException)
        {
            // The client went away, or gave up on the broken handshake.
        }
    }

    // False when the connection is over.
    private async Task<bool> BreakStartTlsAsync(NetworkStream stream)
    {
        switch (_breakage)
        {
            case StartTlsBreakage.Refuse454:
                await WriteAsync(stream, "454 4.7.0 TLS not available due to temporary reason\r\n");
                return true;
            case StartTlsBreakage.GarbageHandshake:
                await WriteAsync(stream, "220 2.0.0 ready to start TLS\r\n");
                await WriteAsync(stream, "this is not a TLS record\r\n");
                return false;
            default:
                await WriteAsync(stream, "220 2.0.0 ready to start TLS\r\n");
                using (var ssl = new SslStream(stream, leaveInnerStreamOpen: true))
                {
#pragma warning disable SYSLIB0039 // TLS 1.0 on purpose: the peer under test must not be able to use it.
                    await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                    {
                        ServerCertificate = _certificate,
                        EnabledSslProtocols = SslProtocols.Tls,
                    });
#pragma warning restore SYSLIB0039
                }

                return false;
        }
    }

    private static Task WriteAsync(NetworkStream stream, string text) => stream.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();

    private static async Task<string?> ReadLineAsync(NetworkStream stream)
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (await stream.ReadAsync(one) == 1)
        {
            line.Add(one[0]);
            if (line.Count >= 2 && line[^2] == '\r' && line[^1] == '\n')
            {
                return Encoding.ASCII.GetString(line.ToArray(), 0, line.Count - 2);
            }
        }

        return null;
    }

    private static async Task<byte[]> ReadDataAsync(NetworkStream stream)
    {
        var data = new MemoryStream();
        while (await ReadLineAsync(stream) is { } line && line != ".")
        {
            // RFC 5321 §4.5.2: a leading dot of a data line was doubled by the client.
            var bytes = Encoding.Latin1.GetBytes(line.StartsWith('.') ? line[1..] : line);
            data.Write(bytes);
            data.Write("\r\n"u8);
        }

        return data.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
        }

        _stop.Dispose();
    }
}
