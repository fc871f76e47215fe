using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Policy;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Reporting.Outbound;

/// <summary>Posts gzip'd reports to https: rua endpoints (RFC 8460 §5.4).</summary>
/// <remarks>
/// The rua host comes from the policy domain's DNS, which is untrusted input: the host is resolved through
/// <see cref="IDnsResolver"/> and only addresses <see cref="DestinationGuard"/> allows are connected to (no
/// redirects), so a record pointing at 127.0.0.1 or the metadata service gets nothing (SSRF).
/// </remarks>
public sealed class TlsReportHttpPoster : IDisposable
{
    private readonly HttpClient _client;

    /// <summary>A poster connecting through <paramref name="dns"/> and <paramref name="guard"/>.</summary>
    public TlsReportHttpPoster(IDnsResolver dns, DestinationGuard guard, TrustedRoots roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        var connector = new GuardedConnector(dns, guard);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectCallback = async (context, cancellationToken) =>
            {
                try
                {
                    return await connector.ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
                }
                catch (HttpRequestException e)
                {
                    throw new HttpRequestException($"rua host {context.DnsEndPoint.Host}: {e.Message}", e);
                }
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                // The system store, plus Queue:Outbound:Tls:ExtraRootCas as the SMTP side trusts them.
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                    errors == SslPolicyErrors.None
                    || (errors == SslPolicyErrors.RemoteCertificateChainErrors && certificate is X509Certificate2 leaf
                        && roots.Validate(leaf, chain?.ChainPolicy.ExtraStore.Cast<X509Certificate2>().ToList() ?? [], systemTrusted: false) is null),
            },
        };
        _client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>POSTs the gzip'd report; returns null on 2xx, else why it failed (to be retried).</summary>
    /// <param name="uri">The https: rua.</param>
    /// <param name="gzip">The gzip'd JSON.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<string?> PostAsync(Uri uri, byte[] gzip, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uri);
        using var content = new ByteArrayContent(gzip);

        // RFC 8460 §5.4: POST with application/tlsrpt+gzip.
        content.Headers.ContentType = new MediaTypeHeaderValue(TlsRptMediaTypes.Gzip);
        try
        {
            using var response = await _client.PostAsync(uri, content, cancellationToken).ConfigureAwait(false);

            // RFC 8460 §5.4: success is a 2xx; anything else may be retried.
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
        }
        catch (HttpRequestException e)
        {
            return e.Message;
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            return "timeout: " + e.Message;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();
}
