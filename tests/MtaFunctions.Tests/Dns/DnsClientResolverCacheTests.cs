using ARSoft.Tools.Net.Dns;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Dns;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Dns;

/// <summary>
/// Answers reused in the process (<c>Dns:CacheMaxTtl</c>), counted at a real DNS server on loopback: an answer is
/// asked once within its TTL and the cap, a failure is asked again at once, and a reused answer keeps its AD flag.
/// </summary>
public sealed class DnsClientResolverCacheTests : IDisposable
{
    private readonly TestDnsServer _dns = new() { AuthenticData = true };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private DnsClientResolver Resolver(TimeSpan cacheMaxTtl) =>
        new(new DnsSettings { Servers = [_dns.EndPoint], Timeout = TimeSpan.FromSeconds(2), CacheMaxTtl = cacheMaxTtl }, [_dns.EndPoint]);

    private int Asked(string name, string type) => _dns.QueriesByName.GetValueOrDefault($"{name} {type}");

    [Fact]
    public async Task Query_SameQuestionWithinTtl_AskedOnceAndStillAuthenticated()
    {
        _dns.Mx("cached.test", 10, "mx.cached.test").A("mx.cached.test", "127.0.0.1");
        var resolver = Resolver(TimeSpan.FromMinutes(5));

        var first = await resolver.QueryMxAsync("cached.test", Ct);
        var second = await resolver.QueryMxAsync("cached.test", Ct);
        await resolver.QueryAddressesAsync("mx.cached.test", Ct);
        var addresses = await resolver.QueryAddressesAsync("mx.cached.test", Ct);

        Assert.Equal(first.Records, second.Records);
        Assert.True(first.Authenticated);
        Assert.True(second.Authenticated);
        Assert.Equal(1, Asked("cached.test", "Mx"));
        Assert.Equal(1, Asked("mx.cached.test", "A"));
        Assert.True(addresses.Authenticated);
    }

    [Fact]
    public async Task Query_CacheOff_AskedEveryTime()
    {
        _dns.Mx("uncached.test", 10, "mx.uncached.test");
        var resolver = Resolver(TimeSpan.Zero);

        await resolver.QueryMxAsync("uncached.test", Ct);
        await resolver.QueryMxAsync("uncached.test", Ct);

        Assert.Equal(2, Asked("uncached.test", "Mx"));
    }

    [Fact]
    public async Task Query_ServFailThenFixed_FailureNotKept()
    {
        _dns.Fail("broken.test", RecordType.Mx);
        var resolver = Resolver(TimeSpan.FromMinutes(5));

        var failed = await resolver.QueryMxAsync("broken.test", Ct);
        _dns.Clear("broken.test", RecordType.Mx).Mx("broken.test", 10, "mx.broken.test");
        var fixedAnswer = await resolver.QueryMxAsync("broken.test", Ct);

        Assert.Equal(DnsStatus.ServFail, failed.Status);
        Assert.Equal(DnsStatus.Found, fixedAnswer.Status);
        Assert.Equal(2, Asked("broken.test", "Mx"));
    }

    [Fact]
    public async Task Query_NxDomainThenPublished_NotKept()
    {
        var resolver = Resolver(TimeSpan.FromMinutes(5));

        var missing = await resolver.QueryTxtAsync("_mta-sts.later.test", Ct);
        _dns.Txt("_mta-sts.later.test", "v=STSv1; id=1");
        var published = await resolver.QueryTxtAsync("_mta-sts.later.test", Ct);

        Assert.NotEqual(DnsStatus.Found, missing.Status);
        Assert.Equal(["v=STSv1; id=1"], published.Records);
    }

    [Fact]
    public async Task Query_CapShorterThanTtl_AskedAgainAfterTheCap()
    {
        // The test server's records have a TTL of 60 s; the cap of 1 s decides.
        _dns.Mx("capped.test", 10, "mx.capped.test");
        var resolver = Resolver(TimeSpan.FromSeconds(1));

        await resolver.QueryMxAsync("capped.test", Ct);
        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        await resolver.QueryMxAsync("capped.test", Ct);

        Assert.Equal(2, Asked("capped.test", "Mx"));
    }

    public void Dispose() => _dns.Dispose();
}
