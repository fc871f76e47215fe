using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>Fetches <c>https://mta-sts.&lt;domain&gt;/.well-known/mta-sts.txt</c> (RFC 8461 §3.3).</summary>
/// <remarks>
/// Each fetch uses its own handler (fetches are rare: once per policy id and day), so no connection, cookie
/// or cache is shared between fetches. The host name is resolved through the app's own DNS settings and
/// private addresses are refused (<see cref="DestinationGuard"/>): recipient DNS is untrusted input. The
/// certificate is checked against the system roots and <see cref="TrustedRoots"/> only; AllowInvalidCerts
/// never applies here.
/// </remarks>
public sealed class MtaStsFetcher(IDnsResolver dns, DestinationGuard guard, TrustedRoots roots, MtaStsFetchOptions options)
{
    private readonly GuardedConnector _connector = new(dns, guard);

    /// <summary>RFC 8461 §3.3: a body-size limit, suggested 64 KB.</summary>
    public const int MaxPolicyBytes = 64 * 1024;

    private long _requests;

    /// <summary>HTTP requests sent so far (benchmarks, tests).</summary>
    public long RequestCount => Interlocked.Read(ref _requests);

    /// <summary>Fetches and parses the policy of <paramref name="domain"/>. Failures are values, never exceptions.</summary>
    public async Task<MtaStsFetchResult> FetchAsync(string domain, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var result = await FetchCoreAsync(domain, cancellationToken).ConfigureAwait(false);
        var outcome = new KeyValuePair<string, object?>("tlsrpt.result.type", result.Failure?.ToWire() ?? "success");
        Telemetry.MtaTelemetry.MtaStsFetchDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, outcome);
        if (result.Failure is not null)
        {
            Telemetry.MtaTelemetry.MtaStsFetchFailures.Add(1, outcome);
        }

        return result;
    }

    private async Task<MtaStsFetchResult> FetchCoreAsync(string domain, CancellationToken cancellationToken)
    {
        var host = $"mta-sts.{domain}";
        CertificateVerdict? verdict = null;
        using var handler = new SocketsHttpHandler
        {
            // RFC 8461 §3.3: MUST NOT follow redirects; no cookies, no proxy (the guard must see the real target).
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.Timeout,
            ConnectCallback = (context, ct) => _connector.ConnectAsync(context.DnsEndPoint.Host, options.Port, ct),
            SslOptions = new SslClientAuthenticationOptions
            {
                // RFC 8461 §7.1: SNI is the policy host (the request host, set by the handler); TLS 1.2 or later.
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                {
                    verdict = Judge(host, certificate, chain, errors);
                    return verdict.Accept;
                },
            },
        };
        using var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"https://{host}/.well-known/mta-sts.txt");

        // RFC 8461 §3.3: HTTP caching MUST NOT be used; ask intermediaries for a fresh copy too.
        request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true, NoStore = true };
        Interlocked.Increment(ref _requests);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);

            // RFC 8461 §3.3: only 200 is a valid answer; 3xx is not followed.
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var location = response.Headers.Location is { } l ? $" (redirect to {l} not followed)" : "";
                return MtaStsFetchResult.Failed(TlsRptResultType.StsPolicyFetchError, $"{host}: HTTP {(int)response.StatusCode}{location}");
            }

            // RFC 8461 §3.2: the media type is text/plain; other parameters are ignored.
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (!string.Equals(mediaType, "text/plain", StringComparison.OrdinalIgnoreCase))
            {
                return MtaStsFetchResult.Failed(TlsRptResultType.StsPolicyInvalid, $"{host}: media type '{mediaType ?? "(none)"}' is not text/plain");
            }

            if (response.Content.Headers.ContentLength > MaxPolicyBytes)
            {
                return MtaStsFetchResult.Failed(TlsRptResultType.StsPolicyInvalid, $"{host}: policy of {response.Content.Headers.ContentLength} bytes exceeds {MaxPolicyBytes}");
            }

            var body = await ReadCappedAsync(response.Content, timeout.Token).ConfigureAwait(false);
            if (body is null)
            {
                return MtaStsFetchResult.Failed(TlsRptResultType.StsPolicyInvalid, $"{host}: policy exceeds {MaxPolicyBytes} bytes");
            }

            string text;
            try
            {
                text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(body);
            }
            catch (DecoderFallbackException)
            {
                return MtaStsFetchResult.Failed(TlsRptResultType.StsPolicyInvalid, $"{host}: policy is not UTF-8 text");
            }

            try
            {
                return MtaStsFetchResult.Success(MtaStsPolicyParser.Parse(text));
            }
            catch (MtaStsFormatException e)
            {
                return MtaStsFetchResult.Failed(TlsRptResultType.StsPolicyInvalid, $"{host}: {e.Message}");
            }
        }
        catch (HttpRequestException) when (verdict is { Accept: false })
        {
            return MtaStsFetchResult.Failed(TlsRptResultType.StsWebPkiInvalid, $"{host}: certificate refused: {verdict.Reason}");
        }
        catch (HttpRequestException e)
        {
            return MtaStsFetchResult.Failed(TlsRptResultType.StsPolicyFetchError, $"{host}: {Innermost(e)}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return MtaStsFetchResult.Failed(TlsRptResultType.StsPolicyFetchError, $"{host}: timed out after {options.Timeout.TotalSeconds:0}s");
        }
        catch (IOException e)
        {
            return MtaStsFetchResult.Failed(TlsRptResultType.StsPolicyFetchError, $"{host}: {e.Message}");
        }
    }

    private CertificateVerdict Judge(string host, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return CertificateVerdict.Refused(TlsRptResultType.StsWebPkiInvalid, "the server sent no certificate");
        }

        // RFC 8461 §3.3: the certificate must name the policy host (a SAN DNS-ID, RFC 6125 §6.4.4: not the CN) ...
        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0 || !PkixCertificateCheck.NamesHost(leaf, host))
        {
            return CertificateVerdict.Refused(TlsRptResultType.StsWebPkiInvalid, $"certificate does not name {host}");
        }

        // ... and chain to a trusted root (the system store, or the configured extra roots) for serverAuth.
        var peer = chain?.ChainPolicy.ExtraStore.Cast<X509Certificate2>().ToList() ?? [];
        var refusal = roots.Validate(leaf, peer, (errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0);
        return refusal is null
            ? CertificateVerdict.Trusted()
            : CertificateVerdict.Refused(TlsRptResultType.StsWebPkiInvalid, $"{refusal.Failure?.ToWire()}: {refusal.Reason}");
    }

    private static async Task<byte[]?> ReadCappedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        // RFC 8461 §3.3: read as a stream and stop at the cap, whatever Content-Length claims.
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[MaxPolicyBytes + 1];
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return buffer[..total];
            }

            total += read;
        }

        return null;
    }

    private static string Innermost(Exception e)
    {
        var messages = new List<string>();
        for (var x = e; x is not null; x = x.InnerException)
        {
            messages.Add(x.Message);
        }

        return string.Join(": ", messages.Distinct());
    }
}

/// <summary>How policy fetches connect.</summary>
/// <param name="Timeout">The whole fetch, connect to last byte (RFC 8461 §3.3 suggests one minute).</param>
/// <param name="Port">TCP port of policy hosts: 443, other only for tests.</param>
public sealed record MtaStsFetchOptions(TimeSpan Timeout, int Port);
