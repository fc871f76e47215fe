using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Dns;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Delivery;

public sealed class MxResolverTests : IDisposable
{
    private readonly TestDnsServer _dns = new();
    private readonly MxResolver _resolver;

    public MxResolverTests()
    {
        _resolver = new MxResolver(new DnsClientResolver(new DnsSettings { Servers = [_dns.EndPoint], Timeout = TimeSpan.FromSeconds(2) }));
    }

    [Fact]
    public async Task ResolveAsync_Preferences_LowestFirstAndEqualOnesShuffled()
    {
        _dns.Mx("pref.test", 20, "backup.pref.test").Mx("pref.test", 10, "a.pref.test").Mx("pref.test", 10, "b.pref.test");

        var orders = new HashSet<string>();
        for (var i = 0; i < 40; i++)
        {
            var result = await _resolver.ResolveAsync("pref.test", CancellationToken.None);
            Assert.Equal("backup.pref.test", result.Hosts[2]);
            orders.Add(string.Join(",", result.Hosts.Take(2)));
        }

        Assert.Equal(["a.pref.test,b.pref.test", "b.pref.test,a.pref.test"], orders.Order());
    }

    [Fact]
    public async Task ResolveAsync_NoMx_DomainIsItsOwnImplicitMx()
    {
        _dns.A("implicit.test", "127.0.0.1");
        var result = await _resolver.ResolveAsync("implicit.test", CancellationToken.None);
        Assert.True(result.Implicit);
        Assert.Equal(["implicit.test"], result.Hosts);
    }

    [Fact]
    public async Task ResolveAsync_NullMx_PermanentRfc7505()
    {
        _dns.Mx("nullmx.test", 0, ".");
        var result = await _resolver.ResolveAsync("nullmx.test", CancellationToken.None);
        Assert.Empty(result.Hosts);
        Assert.StartsWith("5.1.10 ", result.PermanentError);
    }

    [Fact]
    public async Task ResolveAsync_NxDomain_Permanent()
    {
        var result = await _resolver.ResolveAsync("nowhere.test", CancellationToken.None);
        Assert.StartsWith("5.1.2 ", result.PermanentError);
    }

    [Fact]
    public async Task ResolveAsync_ServFail_Temporary()
    {
        _dns.Fail("broken.test", ARSoft.Tools.Net.Dns.RecordType.Mx);
        var result = await _resolver.ResolveAsync("broken.test", CancellationToken.None);
        Assert.Null(result.PermanentError);
        Assert.StartsWith("4.4.3 ", result.TemporaryError);
    }

    public void Dispose() => _dns.Dispose();
}
