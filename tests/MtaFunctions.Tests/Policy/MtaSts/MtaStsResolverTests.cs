using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Core.Policy.MtaSts;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Core.Storage;
using MtaFunctions.LocalHost;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Policy.MtaSts;

/// <summary>Discovery, cache and refresh rules of RFC 8461 §3 and §5.1, over Azurite, real DNS and real HTTPS.</summary>
public sealed class MtaStsResolverTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IAsyncLifetime
{
    private const string Enforce = "version: STSv1\nmode: enforce\nmx: mx.{0}\nmax_age: {1}\n";
    private readonly StsWorld _world = new(azurite);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _world.DisposeAsync();

    private static string Policy(string domain, long maxAge = 86400, string mode = "enforce") =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, Enforce, domain, maxAge).Replace("enforce", mode, StringComparison.Ordinal);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ResolveAsync_CacheHit_NoHttpRequest()
    {
        _world.Publish("hit.test", "id1", Policy("hit.test"));
        var services = await _world.ServicesAsync();
        var resolver = services.GetRequiredService<MtaStsResolver>();

        var first = await resolver.ResolveAsync("hit.test", Ct);
        var second = await resolver.ResolveAsync("hit.test", Ct);
        Assert.False(first.FromCache);
        Assert.True(second.FromCache);
        Assert.Equal(first.Policy, second.Policy);
        Assert.Equal(1, _world.Https.RequestsTo("mta-sts.hit.test"));

        // Another instance (empty memory) finds it in the table.
        var other = await (await _world.ServicesAsync()).GetRequiredService<MtaStsResolver>().ResolveAsync("hit.test", Ct);
        Assert.True(other.FromCache);
        Assert.Equal("id1", other.Id);
        Assert.Equal(1, _world.Https.RequestsTo("mta-sts.hit.test"));
    }

    [Fact]
    public async Task ResolveAsync_IdChanged_Refetches()
    {
        _world.Publish("idchange.test", "id1", Policy("idchange.test"));
        var resolver = (await _world.ServicesAsync()).GetRequiredService<MtaStsResolver>();
        await resolver.ResolveAsync("idchange.test", Ct);

        _world.Txt("idchange.test", "id2");
        _world.Https.Answers["mta-sts.idchange.test"] = PolicyAnswer.Ok(Policy("idchange.test", mode: "testing"));
        var after = await resolver.ResolveAsync("idchange.test", Ct);
        Assert.Equal(2, _world.Https.RequestsTo("mta-sts.idchange.test"));
        Assert.Equal("id2", after.Id);
        Assert.Equal(MtaStsMode.Testing, after.Policy!.Mode);
    }

    [Fact]
    public async Task ResolveAsync_FetchFailsWithValidCache_KeepsCachedPolicyAndReportsFailure()
    {
        _world.Publish("keep.test", "id1", Policy("keep.test"));
        var resolver = (await _world.ServicesAsync()).GetRequiredService<MtaStsResolver>();
        await resolver.ResolveAsync("keep.test", Ct);

        // An attacker (or an outage) blocks the fetch of a new id: the unexpired policy still applies.
        _world.Txt("keep.test", "id2");
        _world.Https.Answers["mta-sts.keep.test"] = new PolicyAnswer(503, []);
        var after = await resolver.ResolveAsync("keep.test", Ct);
        Assert.Equal("id1", after.Id);
        Assert.Equal(MtaStsMode.Enforce, after.Policy!.Mode);
        Assert.Equal(TlsRptResultType.StsPolicyFetchError, after.FetchFailure!.Failure);
    }

    [Fact]
    public async Task ResolveAsync_ExpiredCacheAndFailedFetch_NoPolicy()
    {
        _world.Publish("expired.test", "id1", Policy("expired.test", maxAge: 60));
        var resolver = (await _world.ServicesAsync()).GetRequiredService<MtaStsResolver>();
        Assert.NotNull((await resolver.ResolveAsync("expired.test", Ct)).Policy);

        _world.Time.Advance(TimeSpan.FromSeconds(61));
        _world.Https.Answers["mta-sts.expired.test"] = new PolicyAnswer(500, []);
        var after = await resolver.ResolveAsync("expired.test", Ct);
        Assert.Null(after.Policy);
        Assert.Equal(TlsRptResultType.StsPolicyFetchError, after.FetchFailure!.Failure);
        Assert.Equal(2, _world.Https.RequestsTo("mta-sts.expired.test"));
    }

    [Fact]
    public async Task ResolveAsync_FailedFetch_SameIdNotFetchedAgainFor5Minutes()
    {
        _world.Txt("backoff.test", "id1");
        _world.Dns.A("mta-sts.backoff.test", "127.0.0.1");
        _world.Https.Serve(_world.Ca, "backoff.test", new PolicyAnswer(500, []));
        var resolver = (await _world.ServicesAsync()).GetRequiredService<MtaStsResolver>();

        await resolver.ResolveAsync("backoff.test", Ct);
        await resolver.ResolveAsync("backoff.test", Ct);
        _world.Time.Advance(TimeSpan.FromMinutes(4));
        var during = await resolver.ResolveAsync("backoff.test", Ct);
        Assert.Equal(1, _world.Https.RequestsTo("mta-sts.backoff.test"));
        Assert.Null(during.FetchFailure);
        Assert.Contains("next try after", during.Reason, StringComparison.Ordinal);

        // Another instance honours the back-off too: it is in the table.
        await (await _world.ServicesAsync()).GetRequiredService<MtaStsResolver>().ResolveAsync("backoff.test", Ct);
        Assert.Equal(1, _world.Https.RequestsTo("mta-sts.backoff.test"));

        _world.Time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        _world.Https.Answers["mta-sts.backoff.test"] = PolicyAnswer.Ok(Policy("backoff.test"));
        var later = await resolver.ResolveAsync("backoff.test", Ct);
        Assert.Equal(2, _world.Https.RequestsTo("mta-sts.backoff.test"));
        Assert.NotNull(later.Policy);
    }

    [Fact]
    public async Task ResolveAsync_TxtRemoved_CachedPolicyKept()
    {
        _world.Publish("notxt.test", "id1", Policy("notxt.test"));
        var resolver = (await _world.ServicesAsync()).GetRequiredService<MtaStsResolver>();
        await resolver.ResolveAsync("notxt.test", Ct);

        _world.Dns.Clear("_mta-sts.notxt.test", ARSoft.Tools.Net.Dns.RecordType.Txt);
        var after = await resolver.ResolveAsync("notxt.test", Ct);
        Assert.Equal("id1", after.Id);
        Assert.True(after.FromCache);
    }

    [Fact]
    public async Task ResolveAsync_TxtServFail_CachedPolicyKeptAndNoFetch()
    {
        _world.Publish("servfail.test", "id1", Policy("servfail.test"));
        var resolver = (await _world.ServicesAsync()).GetRequiredService<MtaStsResolver>();
        await resolver.ResolveAsync("servfail.test", Ct);

        _world.Dns.Fail("_mta-sts.servfail.test", ARSoft.Tools.Net.Dns.RecordType.Txt);
        var after = await resolver.ResolveAsync("servfail.test", Ct);
        Assert.Equal("id1", after.Id);
        Assert.Contains("SERVFAIL", after.Reason, StringComparison.Ordinal);
        Assert.Equal(1, _world.Https.RequestsTo("mta-sts.servfail.test"));
    }

    [Fact]
    public async Task ResolveAsync_NoTxtAndNothingCached_NoPolicyWithoutTouchingHttps()
    {
        var result = await (await _world.ServicesAsync()).GetRequiredService<MtaStsResolver>().ResolveAsync("plain.test", Ct);
        Assert.Null(result.Policy);
        Assert.Equal("_mta-sts.plain.test: no TXT record", result.Reason);
        Assert.Equal(0, _world.Https.RequestsTo("mta-sts.plain.test"));
    }

    [Fact]
    public async Task ResolveAsync_TwoStsRecords_NoPolicy()
    {
        _world.Publish("two.test", "id1", Policy("two.test"));
        _world.Dns.Txt("_mta-sts.two.test", "v=STSv1; id=id2;");
        _world.Dns.Txt("_mta-sts.two.test", "v=spf1 -all");
        var result = await (await _world.ServicesAsync()).GetRequiredService<MtaStsResolver>().ResolveAsync("two.test", Ct);
        Assert.Null(result.Policy);
        Assert.Equal("_mta-sts.two.test: 2 v=STSv1 TXT records", result.Reason);
        Assert.Equal(0, _world.Https.RequestsTo("mta-sts.two.test"));
    }

    [Fact]
    public async Task ResolveAsync_OtherTxtRecordsBesideOne_Ignored()
    {
        _world.Publish("mixed.test", "id1", Policy("mixed.test"));
        _world.Dns.Txt("_mta-sts.mixed.test", "v=spf1 -all");
        _world.Dns.Txt("_mta-sts.mixed.test", "something else");
        var result = await (await _world.ServicesAsync()).GetRequiredService<MtaStsResolver>().ResolveAsync("mixed.test", Ct);
        Assert.Equal("id1", result.Id);
    }

    [Fact]
    public async Task ResolveAsync_TxtDelegatedByCname_Followed()
    {
        // RFC 8461 §8.2: _mta-sts.user.test CNAME _mta-sts.provider.test; the policy host stays mta-sts.user.test.
        _world.Dns.Cname("_mta-sts.user.test", "_mta-sts.provider.test");
        _world.Dns.Txt("_mta-sts.provider.test", "v=STSv1; id=prov1;");
        _world.Dns.A("mta-sts.user.test", "127.0.0.1");
        _world.Https.Serve(_world.Ca, "user.test", PolicyAnswer.Ok(Policy("provider.test")));
        var result = await (await _world.ServicesAsync()).GetRequiredService<MtaStsResolver>().ResolveAsync("user.test", Ct);
        Assert.Equal("prov1", result.Id);
        Assert.True(result.Policy!.Matches("mx.provider.test"));
    }

    [Fact]
    public async Task RefreshHandler_DuePolicy_FetchedAgainAndExtended()
    {
        _world.Publish("refresh.test", "id1", Policy("refresh.test", maxAge: 604800));
        var services = await _world.ServicesAsync();
        await services.GetRequiredService<MtaStsResolver>().ResolveAsync("refresh.test", Ct);
        var store = services.GetRequiredService<StsPolicyStore>();
        var before = await store.GetAsync("refresh.test", Ct);
        var handler = services.GetRequiredService<MtaStsRefreshHandler>();

        // Not due yet: nothing fetched.
        _world.Time.Advance(TimeSpan.FromHours(1));
        await handler.RunAsync(Ct);
        Assert.Equal(1, _world.Https.RequestsTo("mta-sts.refresh.test"));

        // About a day later (24 h minus a per-domain jitter): refreshed though the id did not change.
        _world.Time.Advance(TimeSpan.FromHours(24));
        await handler.RunAsync(Ct);
        Assert.Equal(2, _world.Https.RequestsTo("mta-sts.refresh.test"));
        var after = await store.GetAsync("refresh.test", Ct);
        Assert.True(after!.ExpiresAt > before!.ExpiresAt);
        Assert.Equal(_world.Time.GetUtcNow(), after.FetchedAt);
    }

    [Fact]
    public async Task RefreshHandler_FetchFails_CachedPolicyKept()
    {
        _world.Publish("refreshfail.test", "id1", Policy("refreshfail.test", maxAge: 604800));
        var services = await _world.ServicesAsync();
        await services.GetRequiredService<MtaStsResolver>().ResolveAsync("refreshfail.test", Ct);
        _world.Https.Answers["mta-sts.refreshfail.test"] = new PolicyAnswer(500, []);
        _world.Time.Advance(TimeSpan.FromHours(25));

        await services.GetRequiredService<MtaStsRefreshHandler>().RunAsync(Ct);
        var entry = await services.GetRequiredService<StsPolicyStore>().GetAsync("refreshfail.test", Ct);
        Assert.Equal(2, _world.Https.RequestsTo("mta-sts.refreshfail.test"));
        Assert.True(entry!.IsValidAt(_world.Time.GetUtcNow()));
        Assert.Equal("id1", entry.LastFailureId);
        Assert.Contains("HTTP 500", entry.LastFailure, StringComparison.Ordinal);
    }

    [Fact]
    public void DueAt_JitterSpreadsDomainsWithinFourHours()
    {
        var fetched = DateTimeOffset.Parse("2026-11-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var due = Enumerable.Range(0, 50)
            .Select(i => MtaStsRefreshHandler.DueAt(new CachedMtaStsPolicy($"d{i}.test", "1", "x", fetched, fetched.AddDays(7))))
            .ToList();
        Assert.All(due, d => Assert.InRange(d, fetched.AddHours(20), fetched.AddHours(24)));
        Assert.True(due.Distinct().Count() > 40);

        // A short max_age is renewed before it lapses.
        Assert.Equal(fetched.AddSeconds(2700), MtaStsRefreshHandler.DueAt(new CachedMtaStsPolicy("short.test", "1", "x", fetched, fetched.AddHours(1))));
    }

    [Fact]
    public async Task StsPurge_CachedPolicy_RemovedAndFetchedAgain()
    {
        _world.Publish("purge.test", "id1", Policy("purge.test"));
        var services = await _world.ServicesAsync();
        var resolver = services.GetRequiredService<MtaStsResolver>();
        await resolver.ResolveAsync("purge.test", Ct);

        var shown = await Tool.ToolRun.RunAsync(["sts", "show", "purge.test", "--json", "--connection-string", azurite.ConnectionString]);
        Assert.True(shown.Exit == 0, shown.ToString());
        Assert.Equal("id1", shown.Json().GetProperty("id").GetString());
        Assert.Equal("enforce", shown.Json().GetProperty("mode").GetString());

        // The operator's tool is another process: it purges the table, and the next instance (or the next
        // re-read of the table) fetches again.
        var purge = await Tool.ToolRun.RunAsync(["sts", "purge", "PURGE.test", "--connection-string", azurite.ConnectionString]);
        Assert.True(purge.Exit == 0, purge.ToString());
        Assert.Equal("purge.test: cached MTA-STS policy removed", purge.Out.Trim());
        Assert.Null(await services.GetRequiredService<StsPolicyStore>().GetAsync("purge.test", Ct));
        var gone = await Tool.ToolRun.RunAsync(["sts", "show", "purge.test", "--connection-string", azurite.ConnectionString]);
        Assert.True(gone.Exit == 1, gone.ToString());
        Assert.Contains("purge.test: no cached MTA-STS policy", gone.Error, StringComparison.Ordinal);

        var again = await (await _world.ServicesAsync()).GetRequiredService<MtaStsResolver>().ResolveAsync("purge.test", Ct);
        Assert.False(again.FromCache);
        Assert.Equal(2, _world.Https.RequestsTo("mta-sts.purge.test"));
    }

    [Fact]
    public async Task HasNewPolicyAsync_IdChangedSinceLastAttempt_True()
    {
        _world.Publish("recheck.test", "id1", Policy("recheck.test"));
        var resolver = (await _world.ServicesAsync()).GetRequiredService<MtaStsResolver>();
        await resolver.ResolveAsync("recheck.test", Ct);
        Assert.False(await resolver.HasNewPolicyAsync("recheck.test", Ct));

        _world.Txt("recheck.test", "id2");
        Assert.True(await resolver.HasNewPolicyAsync("recheck.test", Ct));
    }
}
