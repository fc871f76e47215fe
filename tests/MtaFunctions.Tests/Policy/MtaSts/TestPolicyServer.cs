using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Policy.MtaSts;

/// <summary>What a policy host answers.</summary>
/// <param name="Status">HTTP status.</param>
/// <param name="Body">Body bytes.</param>
/// <param name="ContentType">Content-Type header; null sends none.</param>
/// <param name="Location">Location header (redirects).</param>
/// <param name="Delay">Wait before answering (timeouts).</param>
/// <param name="OnServed">Runs after the answer is chosen (scenarios that change DNS mid-delivery).</param>
public sealed record PolicyAnswer(
    int Status, byte[] Body, string? ContentType = "text/plain; charset=utf-8", string? Location = null, TimeSpan Delay = default, Action? OnServed = null)
{
    /// <summary>200 text/plain with <paramref name="policy"/>.</summary>
    public static PolicyAnswer Ok(string policy) => new(200, System.Text.Encoding.UTF8.GetBytes(policy));
}

/// <summary>
/// A real HTTPS server (Kestrel) on 127.0.0.1 serving <c>/.well-known/mta-sts.txt</c> for any number of
/// <c>mta-sts.&lt;domain&gt;</c> hosts, each with its own certificate chosen by SNI.
/// </summary>
public sealed class TestPolicyServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    public TestPolicyServer()
    {
        Port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port, l => l.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificateSelector = (_, name) => Certificates.TryGetValue(name ?? "", out var c) ? c : Fallback,
        })));
        _app = builder.Build();
        _app.Run(HandleAsync);
        _app.StartAsync().GetAwaiter().GetResult();
    }

    /// <summary>The TCP port (<c>Queue:Outbound:MtaSts:Port</c>).</summary>
    public int Port { get; }

    /// <summary>Certificate per SNI host name.</summary>
    public ConcurrentDictionary<string, X509Certificate2> Certificates { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Certificate for unknown SNI names.</summary>
    public X509Certificate2 Fallback { get; set; } = TestCertificateAuthority.SelfSigned("unknown.test");

    /// <summary>Answer per host (Host header).</summary>
    public ConcurrentDictionary<string, PolicyAnswer> Answers { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Requests received per host.</summary>
    public ConcurrentDictionary<string, int> Requests { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Cache-Control request header of the last request per host.</summary>
    public ConcurrentDictionary<string, string> LastCacheControl { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Requests to <paramref name="host"/> so far.</summary>
    public int RequestsTo(string host) => Requests.TryGetValue(host, out var n) ? n : 0;

    /// <summary>Serves <paramref name="answer"/> at <c>mta-sts.&lt;domain&gt;</c> with a certificate of <paramref name="ca"/>.</summary>
    public void Serve(TestCertificateAuthority ca, string domain, PolicyAnswer answer)
    {
        var host = $"mta-sts.{domain}";
        Certificates.GetOrAdd(host, _ => ca.IssueServer([host]));
        Answers[host] = answer;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var host = context.Request.Host.Host;
        Requests.AddOrUpdate(host, 1, (_, n) => n + 1);
        LastCacheControl[host] = context.Request.Headers.CacheControl.ToString();
        if (context.Request.Path != "/.well-known/mta-sts.txt" || !Answers.TryGetValue(host, out var answer))
        {
            context.Response.StatusCode = 404;
            return;
        }

        answer.OnServed?.Invoke();
        if (answer.Delay > TimeSpan.Zero)
        {
            await Task.Delay(answer.Delay, context.RequestAborted);
        }

        context.Response.StatusCode = answer.Status;
        if (answer.ContentType is not null)
        {
            context.Response.ContentType = answer.ContentType;
        }

        if (answer.Location is not null)
        {
            context.Response.Headers.Location = answer.Location;
        }

        await context.Response.Body.WriteAsync(answer.Body, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
