using System.IO.Compression;
using System.Net;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>
/// A telemetry collector stand-in on a loopback port: records the path and (gunzipped) body of every request and
/// answers each with the given reply, until stopped.
/// </summary>
public sealed class LoopbackHttpCollector : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly List<(string Path, byte[] Body)> _received = [];
    private readonly Task _serve;

    /// <param name="reply">The body of every answer (200, application/json); none when null.</param>
    public LoopbackHttpCollector(string? reply = null)
    {
        Port = FreePort.Next();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _serve = Task.Run(() => ServeAsync(reply is null ? null : System.Text.Encoding.UTF8.GetBytes(reply)));
    }

    public int Port { get; }

    /// <summary>Stops listening and returns every request received.</summary>
    public async Task<IReadOnlyList<(string Path, byte[] Body)>> StopAsync()
    {
        _listener.Stop();
        await _serve;
        lock (_received)
        {
            return [.. _received];
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_listener.IsListening)
        {
            await StopAsync();
        }

        _listener.Close();
    }

    private async Task ServeAsync(byte[]? reply)
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            using var body = new MemoryStream();
            var input = context.Request.Headers["Content-Encoding"] == "gzip"
                ? new GZipStream(context.Request.InputStream, CompressionMode.Decompress)
                : context.Request.InputStream;
            await input.CopyToAsync(body);
            lock (_received)
            {
                _received.Add((context.Request.Url!.AbsolutePath, body.ToArray()));
            }

            context.Response.StatusCode = 200;
            if (reply is not null)
            {
                context.Response.ContentType = "application/json";
                await context.Response.OutputStream.WriteAsync(reply);
            }

            context.Response.Close();
        }
    }
}
