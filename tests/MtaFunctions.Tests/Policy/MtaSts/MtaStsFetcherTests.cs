using System.Text;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Policy;
using MtaFunctions.Core.Policy.MtaSts;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Policy.MtaSts;

public sealed class MtaStsFetcherTests : IAsyncLifetime
{
    private const string Policy = "version: STSv1\nmode: enforce\nmx: mx.fetch.test\nmax_age: 86400\n";
    private readonly TestCertificateAuthority _ca = new();
    private readonly TestDnsServer _dns = new();
    private readonly TestPolicyServer _server = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _dns.Dispose();
        _ca.Dispose();
    }

    private MtaStsFetcher Fetcher(bool allowPrivate = true, TimeSpan? timeout = null, int? port = null) => new(
        new DnsClientResolver(new DnsSettings { Servers = [_dns.EndPoint], Timeout = TimeSpan.FromSeconds(5) }),
        new DestinationGuard(allowPrivate),
        new TrustedRoots(_ca.PemFile),
        new MtaStsFetchOptions(timeout ?? TimeSpan.FromSeconds(20), port ?? _server.Port));

    private void Host(string domain, PolicyAnswer answer)
    {
        _dns.A($"mta-sts.{domain}", "127.0.0.1");
        _server.Serve(_ca, domain, answer);
    }

    [Fact]
    public async Task FetchAsync_ValidPolicyAndCertificate_ParsesWithoutHttpCaching()
    {
        // The server picks the certificate by SNI (an unknown name gets a self-signed one), so success also
        // shows that SNI carried the policy host (RFC 8461 §7.1).
        Host("ok.test", PolicyAnswer.Ok(Policy));
        var result = await Fetcher().FetchAsync("ok.test", TestContext.Current.CancellationToken);
        Assert.Null(result.Error);
        Assert.Equal(MtaStsMode.Enforce, result.Policy!.Mode);
        Assert.Equal(1, _server.RequestsTo("mta-sts.ok.test"));

        // RFC 8461 §3.3: no HTTP caching: every fetch is a request, asking intermediaries for a fresh copy.
        await Fetcher().FetchAsync("ok.test", TestContext.Current.CancellationToken);
        Assert.Equal(2, _server.RequestsTo("mta-sts.ok.test"));
        Assert.Contains("no-cache", _server.LastCacheControl["mta-sts.ok.test"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchAsync_Redirect_NotFollowed()
    {
        Host("target.test", PolicyAnswer.Ok(Policy));
        Host("redirect.test", new PolicyAnswer(301, [], Location: "https://mta-sts.target.test/.well-known/mta-sts.txt"));
        var result = await Fetcher().FetchAsync("redirect.test", TestContext.Current.CancellationToken);
        Assert.Equal(TlsRptResultType.StsPolicyFetchError, result.Failure);
        Assert.Contains("HTTP 301 (redirect to https://mta-sts.target.test/.well-known/mta-sts.txt not followed)", result.Error, StringComparison.Ordinal);
        Assert.Equal(0, _server.RequestsTo("mta-sts.target.test"));
    }

    [Fact]
    public async Task FetchAsync_CertificateOfUnknownCa_WebPkiInvalid()
    {
        using var other = new TestCertificateAuthority("Someone Else's Root");
        _dns.A("mta-sts.untrusted.test", "127.0.0.1");
        _server.Serve(other, "untrusted.test", PolicyAnswer.Ok(Policy));
        var result = await Fetcher().FetchAsync("untrusted.test", TestContext.Current.CancellationToken);
        Assert.Equal(TlsRptResultType.StsWebPkiInvalid, result.Failure);
        Assert.Contains("certificate refused: certificate-not-trusted", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchAsync_SelfSignedCertificate_WebPkiInvalid()
    {
        _dns.A("mta-sts.selfsigned.test", "127.0.0.1");
        _server.Certificates["mta-sts.selfsigned.test"] = TestCertificateAuthority.SelfSigned("mta-sts.selfsigned.test");
        _server.Answers["mta-sts.selfsigned.test"] = PolicyAnswer.Ok(Policy);
        var result = await Fetcher().FetchAsync("selfsigned.test", TestContext.Current.CancellationToken);
        Assert.Equal(TlsRptResultType.StsWebPkiInvalid, result.Failure);
    }

    [Fact]
    public async Task FetchAsync_CertificateForAnotherName_WebPkiInvalid()
    {
        _dns.A("mta-sts.wrongname.test", "127.0.0.1");
        _server.Certificates["mta-sts.wrongname.test"] = _ca.IssueServer(["mx.wrongname.test", "wrongname.test"]);
        _server.Answers["mta-sts.wrongname.test"] = PolicyAnswer.Ok(Policy);
        var result = await Fetcher().FetchAsync("wrongname.test", TestContext.Current.CancellationToken);
        Assert.Equal(TlsRptResultType.StsWebPkiInvalid, result.Failure);
        Assert.Contains("certificate does not name mta-sts.wrongname.test", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchAsync_ClientAuthOnlyCertificate_WebPkiInvalid()
    {
        // RFC 5280 §4.2.1.12: a certificate of a trusted CA whose EKU allows client authentication only.
        // Kestrel will not serve such a certificate, so the policy host is a bare SslStream.
        _dns.A("mta-sts.clientauth.test", "127.0.0.1");
        await using var host = new RawTlsPolicyServer(_ca.IssueServer(["mta-sts.clientauth.test"], serverAuth: false), Policy);
        var result = await Fetcher(port: host.Port).FetchAsync("clientauth.test", TestContext.Current.CancellationToken);
        Assert.True(result.Failure == TlsRptResultType.StsWebPkiInvalid, result.Error);
        Assert.Contains("NotValidForUsage", result.Error, StringComparison.Ordinal);

        // The same host with a serverAuth certificate gives the policy: the refusal was the EKU alone.
        await using var good = new RawTlsPolicyServer(_ca.IssueServer(["mta-sts.clientauth.test"]), Policy);
        Assert.Null((await Fetcher(port: good.Port).FetchAsync("clientauth.test", TestContext.Current.CancellationToken)).Error);
    }

    [Fact]
    public async Task FetchAsync_CommonNameOnlyCertificate_WebPkiInvalid()
    {
        // RFC 8461 §3.3 via RFC 6125 §6.4.4: the policy host must be a SAN DNS-ID; a matching CN does not count.
        _dns.A("mta-sts.cnonly.test", "127.0.0.1");
        _server.Certificates["mta-sts.cnonly.test"] = _ca.IssueServer(["mta-sts.cnonly.test"], subjectAltName: false);
        _server.Answers["mta-sts.cnonly.test"] = PolicyAnswer.Ok(Policy);
        var result = await Fetcher().FetchAsync("cnonly.test", TestContext.Current.CancellationToken);
        Assert.Equal(TlsRptResultType.StsWebPkiInvalid, result.Failure);
        Assert.Contains("certificate does not name mta-sts.cnonly.test", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchAsync_ExpiredCertificate_WebPkiInvalid()
    {
        _dns.A("mta-sts.expired.test", "127.0.0.1");
        _server.Certificates["mta-sts.expired.test"] = _ca.IssueServer(["mta-sts.expired.test"], DateTimeOffset.UtcNow.AddDays(-20), DateTimeOffset.UtcNow.AddDays(-1));
        _server.Answers["mta-sts.expired.test"] = PolicyAnswer.Ok(Policy);
        var result = await Fetcher().FetchAsync("expired.test", TestContext.Current.CancellationToken);
        Assert.Equal(TlsRptResultType.StsWebPkiInvalid, result.Failure);
    }

    [Fact]
    public async Task FetchAsync_OversizedChunkedBody_StopsAtCap()
    {
        // A valid policy padded with ignored fields past 64 KiB, sent chunked (no Content-Length to trust).
        var padding = string.Concat(Enumerable.Range(0, 3000).Select(i => $"pad{i}: {new string('x', 20)}\n"));
        Host("huge.test", PolicyAnswer.Ok(Policy + padding));
        var result = await Fetcher().FetchAsync("huge.test", TestContext.Current.CancellationToken);
        Assert.Equal(TlsRptResultType.StsPolicyInvalid, result.Failure);
        Assert.Contains("policy exceeds 65536 bytes", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchAsync_JustUnderCap_Accepted()
    {
        var body = Policy + "pad: " + new string('x', MtaStsFetcher.MaxPolicyBytes - Policy.Length - 6) + "\n";
        Assert.Equal(MtaStsFetcher.MaxPolicyBytes, Encoding.UTF8.GetByteCount(body));
        Host("edge.test", PolicyAnswer.Ok(body));
        var result = await Fetcher().FetchAsync("edge.test", TestContext.Current.CancellationToken);
        Assert.Null(result.Error);
    }

    [Theory]
    [InlineData("text/html", "media type 'text/html' is not text/plain")]
    [InlineData(null, "media type '(none)' is not text/plain")]
    public async Task FetchAsync_WrongMediaType_Invalid(string? contentType, string message)
    {
        var domain = $"type{contentType?.Length ?? 0}.test";
        Host(domain, new PolicyAnswer(200, Encoding.UTF8.GetBytes(Policy), contentType));
        var result = await Fetcher().FetchAsync(domain, TestContext.Current.CancellationToken);
        Assert.Equal(TlsRptResultType.StsPolicyInvalid, result.Failure);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(404)]
    [InlineData(500)]
    [InlineData(204)]
    public async Task FetchAsync_StatusOtherThan200_FetchError(int status)
    {
        var domain = $"status{status}.test";
        Host(domain, new PolicyAnswer(status, status == 204 ? [] : Encoding.UTF8.GetBytes(Policy)));
        var result = await Fetcher().FetchAsync(domain, TestContext.Current.CancellationToken);
        Assert.Equal(TlsRptResultType.StsPolicyFetchError, result.Failure);
        Assert.Contains($"HTTP {status}", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchAsync_MalformedPolicy_InvalidWithField()
    {
        Host("badmode.test", PolicyAnswer.Ok("version: STSv1\nmode: strict\nmx: a.test\nmax_age: 5\n"));
        var result = await Fetcher().FetchAsync("badmode.test", TestContext.Current.CancellationToken);
        Assert.Equal(TlsRptResultType.StsPolicyInvalid, result.Failure);
        Assert.Equal("mta-sts.badmode.test: mta-sts policy: line 2: mode: 'strict' is not one of enforce, testing, none", result.Error);
    }

    [Fact]
    public async Task FetchAsync_BinaryJunk_Invalid()
    {
        Host("junk.test", new PolicyAnswer(200, [0xff, 0xfe, 0x00, 0x01, 0x80, 0x0a]));
        var result = await Fetcher().FetchAsync("junk.test", TestContext.Current.CancellationToken);
        Assert.Equal(TlsRptResultType.StsPolicyInvalid, result.Failure);
        Assert.Contains("not UTF-8", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchAsync_PolicyHostOnLoopbackWithoutPermission_RefusedBeforeConnecting()
    {
        // SSRF guard: recipient DNS pointing the policy host at loopback is refused unless allowed.
        Host("ssrf.test", PolicyAnswer.Ok(Policy));
        var result = await Fetcher(allowPrivate: false).FetchAsync("ssrf.test", TestContext.Current.CancellationToken);
        Assert.Equal(TlsRptResultType.StsPolicyFetchError, result.Failure);
        Assert.Contains("resolves only to non-public addresses (127.0.0.1); refused", result.Error, StringComparison.Ordinal);
        Assert.Equal(0, _server.RequestsTo("mta-sts.ssrf.test"));
    }

    [Fact]
    public async Task FetchAsync_NoAddressForPolicyHost_FetchError()
    {
        var result = await Fetcher().FetchAsync("nohost.test", TestContext.Current.CancellationToken);
        Assert.Equal(TlsRptResultType.StsPolicyFetchError, result.Failure);
        Assert.Contains("address lookup of mta-sts.nohost.test: NotFound", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchAsync_SlowServer_TimesOut()
    {
        Host("slow.test", PolicyAnswer.Ok(Policy) with { Delay = TimeSpan.FromSeconds(30) });
        var result = await Fetcher(timeout: TimeSpan.FromSeconds(1)).FetchAsync("slow.test", TestContext.Current.CancellationToken);
        Assert.Equal(TlsRptResultType.StsPolicyFetchError, result.Failure);
        Assert.Contains("timed out after 1s", result.Error, StringComparison.Ordinal);
    }
}
