using ARSoft.Tools.Net.Dns;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Policy.Dane;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Policy.Dane;

/// <summary>
/// <see cref="TlsaLookup"/> over a scripted DNS server that claims to validate (AD set, and listed as trusted):
/// the RFC 7672 §2.2.2 order of questions, CNAME fallback, and failures kept apart from absence.
/// </summary>
public sealed class TlsaLookupTests : IDisposable
{
    private readonly TestDnsServer _dns = new() { AuthenticData = true };

    private async Task<TlsaLookupResult> LookupAsync(string mxHost, bool trusted = true)
    {
        var resolver = new DnsClientResolver(new DnsSettings { Servers = [_dns.EndPoint], Timeout = TimeSpan.FromSeconds(2) }, trusted ? [_dns.EndPoint] : []);
        var addresses = await resolver.QueryAddressesAsync(mxHost, TestContext.Current.CancellationToken);
        return await new TlsaLookup(resolver).LookupAsync(mxHost, addresses, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Lookup_SecureHostWithTlsa_Usable()
    {
        _dns.A("mx.secure.test", "127.0.0.1").Tlsa("_25._tcp.mx.secure.test", 3, 1, 1, new byte[32]);
        var result = await LookupAsync("mx.secure.test");
        Assert.Equal(TlsaLookupStatus.Usable, result.Status);
        Assert.Equal("mx.secure.test", result.BaseDomain);
    }

    [Fact]
    public async Task Lookup_UntrustedServer_InsecureAndTlsaNeverAsked()
    {
        _dns.A("mx.untrusted.test", "127.0.0.1").Tlsa("_25._tcp.mx.untrusted.test", 3, 1, 1, new byte[32]);
        var result = await LookupAsync("mx.untrusted.test", trusted: false);
        Assert.Equal(TlsaLookupStatus.Insecure, result.Status);
        Assert.False(_dns.QueriesByName.ContainsKey("_25._tcp.mx.untrusted.test Tlsa"));
    }

    [Theory]
    [InlineData(ReturnCode.ServerFailure)]
    [InlineData(ReturnCode.Refused)]
    public async Task Lookup_TlsaFailsOnSecureHost_Failed(ReturnCode code)
    {
        _dns.A("mx.failing.test", "127.0.0.1").Fail("_25._tcp.mx.failing.test", RecordType.Tlsa, code);
        var result = await LookupAsync("mx.failing.test");
        Assert.Equal(TlsaLookupStatus.Failed, result.Status);
    }

    [Fact]
    public async Task Lookup_SecureNxDomain_NoRecords()
    {
        _dns.A("mx.none.test", "127.0.0.1");
        var result = await LookupAsync("mx.none.test");
        Assert.Equal(TlsaLookupStatus.NoRecords, result.Status);
    }

    [Fact]
    public async Task Lookup_CnameWithoutTlsaAtExpandedName_FallsBackToOriginalName()
    {
        // RFC 7672 §2.2.2: the expanded name first, then the original MX host name.
        _dns.Cname("mx.alias.test", "real.target.test").A("real.target.test", "127.0.0.1").Tlsa("_25._tcp.mx.alias.test", 3, 1, 1, new byte[32]);
        var result = await LookupAsync("mx.alias.test");
        Assert.Equal(TlsaLookupStatus.Usable, result.Status);
        Assert.Equal("mx.alias.test", result.BaseDomain);
        Assert.True(_dns.QueriesByName.ContainsKey("_25._tcp.real.target.test Tlsa"));
    }

    [Fact]
    public async Task Lookup_CnameWithTlsaAtBothNames_ExpandedNameWins()
    {
        _dns.Cname("mx.both.test", "real.both-target.test").A("real.both-target.test", "127.0.0.1")
            .Tlsa("_25._tcp.real.both-target.test", 3, 1, 2, new byte[64]).Tlsa("_25._tcp.mx.both.test", 3, 1, 1, new byte[32]);
        var result = await LookupAsync("mx.both.test");
        Assert.Equal("real.both-target.test", result.BaseDomain);
        Assert.Equal("3 1 2", result.Records!.All.Single().ToString()[..5]);
    }

    [Fact]
    public async Task Lookup_OnlyUnusableRecords_UnusableWithReasons()
    {
        _dns.A("mx.unusable.test", "127.0.0.1").Tlsa("_25._tcp.mx.unusable.test", 1, 1, 1, new byte[32]);
        var result = await LookupAsync("mx.unusable.test");
        Assert.Equal(TlsaLookupStatus.Unusable, result.Status);
        Assert.Contains("PKIX", result.Reason, StringComparison.Ordinal);
    }

    public void Dispose() => _dns.Dispose();
}
