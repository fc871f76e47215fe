using Azure.Data.Tables;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Storage;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Delivery;

/// <summary>
/// The fleet-wide limiter on a real Azurite: three "hosts" (each its own limiter, store and table client, as
/// three instances would have) share one destination.
/// </summary>
public sealed class DestinationLimiterTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private DestinationLimiter Host(TimeSpan? maxWait = null) => new(
        new DestinationLimitStore(new TableServiceClient(azurite.ConnectionString)),
        new DestinationLimitSettings { Default = new DestinationLimit(20, 0), MaxWait = maxWait ?? TimeSpan.FromSeconds(30) },
        TimeProvider.System,
        new InstanceIdentity());

    [Fact]
    public async Task AcquireConnection_ThreeHostsRacing_NeverMoreThanTheLimitAtOnce()
    {
        var destination = $"mx.race-{Guid.NewGuid():N}.test";
        var limit = new DestinationLimit(MaxConnections: 2, MessagesPerMinute: 0);
        var hosts = new[] { Host(), Host(), Host() };
        var open = 0;
        var peak = 0;
        var done = 0;

        var work = hosts.SelectMany(host => Enumerable.Range(0, 6).Select(async _ =>
        {
            await using var lease = await host.AcquireConnectionAsync(destination, limit, null, CancellationToken.None);
            Assert.NotNull(lease);
            var now = Interlocked.Increment(ref open);
            InterlockedMax(ref peak, now);
            await Task.Delay(30);
            Interlocked.Decrement(ref open);
            Interlocked.Increment(ref done);
        }));
        await Task.WhenAll(work);

        Assert.Equal(18, done);
        Assert.Equal(2, peak);
    }

    [Fact]
    public async Task AcquireConnection_ManyWaitersOnOneHost_OneOfThemReadsTheRows()
    {
        // Its own Azurite, whose access log counts every request.
        await using var counted = new AzuriteFixture { CountRequests = true };
        await counted.InitializeAsync();
        var host = new DestinationLimiter(
            new DestinationLimitStore(new TableServiceClient(counted.ConnectionString)),
            new DestinationLimitSettings { Default = new DestinationLimit(20, 0), MaxWait = TimeSpan.FromSeconds(1.5) },
            TimeProvider.System,
            new InstanceIdentity());
        var destination = $"mx.busy-{Guid.NewGuid():N}.test";
        var limit = new DestinationLimit(1, 0);
        await using var held = await host.AcquireConnectionAsync(destination, limit, null, CancellationToken.None);
        var before = await SettledCountAsync(counted, "GET DestinationLimits");

        var waiters = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => host.AcquireConnectionAsync(destination, limit, null, CancellationToken.None)));

        Assert.NotNull(held);
        Assert.All(waiters, Assert.Null);

        // One reader on one poll schedule (50 ms doubling to 2 s) for all twenty, not twenty readers.
        var reads = await SettledCountAsync(counted, "GET DestinationLimits") - before;
        Assert.InRange(reads, 1, 19);
    }

    // Azurite writes its access log asynchronously: the count once it stops changing.
    private static async Task<long> SettledCountAsync(AzuriteFixture azurite, string key)
    {
        var last = -1L;
        while (true)
        {
            var now = azurite.Requests.GetValueOrDefault(key);
            if (now == last)
            {
                return now;
            }

            last = now;
            await Task.Delay(300);
        }
    }

    [Fact]
    public async Task AcquireConnection_AllSlotsHeldPastMaxWait_ReturnsNullAndLeavesHoldersAlone()
    {
        var destination = $"mx.full-{Guid.NewGuid():N}.test";
        var limit = new DestinationLimit(1, 0);
        var first = Host();
        await using var held = await first.AcquireConnectionAsync(destination, limit, null, CancellationToken.None);

        var waited = await Host(TimeSpan.FromMilliseconds(300)).AcquireConnectionAsync(destination, limit, null, CancellationToken.None);

        Assert.NotNull(held);
        Assert.Null(waited);
        Assert.True(held.Held);
    }

    [Fact]
    public async Task AcquireConnection_SlotFreedByAnotherHost_WaiterGetsIt()
    {
        var destination = $"mx.handover-{Guid.NewGuid():N}.test";
        var limit = new DestinationLimit(1, 0);
        var held = await Host().AcquireConnectionAsync(destination, limit, null, CancellationToken.None);
        var waiting = Host().AcquireConnectionAsync(destination, limit, null, CancellationToken.None);
        await Task.Delay(200);
        Assert.False(waiting.IsCompleted);

        await held!.DisposeAsync();
        await using var next = await waiting;

        Assert.NotNull(next);
    }

    [Fact]
    public async Task ReportBusy_LowersTheLimitBelowTheOpenConnections_ForEveryHost()
    {
        var destination = $"mx.busy-{Guid.NewGuid():N}.test";
        var limit = new DestinationLimit(3, 0);
        var a = Host();
        var b = Host(TimeSpan.FromMilliseconds(300));
        await using var one = await a.AcquireConnectionAsync(destination, limit, null, CancellationToken.None);
        await using var two = await a.AcquireConnectionAsync(destination, limit, null, CancellationToken.None);

        await a.ReportBusyAsync(destination, limit, CancellationToken.None);

        // Two open, busy reply: the limit is now one, so another host gets nothing until connections close.
        Assert.Null(await b.AcquireConnectionAsync(destination, limit, null, CancellationToken.None));
        await one!.DisposeAsync();
        Assert.Null(await b.AcquireConnectionAsync(destination, limit, null, CancellationToken.None));
        await two!.DisposeAsync();
        await using var three = await b.AcquireConnectionAsync(destination, limit, null, CancellationToken.None);
        Assert.NotNull(three);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(59, 1)]
    [InlineData(60, 2)]
    [InlineData(150, 3)]
    [InlineData(3600, 5)]
    public void EffectiveLimit_BackoffGrowsBackByOnePerMinute(int secondsSince, int expected)
    {
        var at = new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero);
        Assert.Equal(expected, DestinationLimiter.EffectiveLimit(5, new BackoffRow(1, at, default), at.AddSeconds(secondsSince), TimeSpan.FromMinutes(1)));
        Assert.Equal(5, DestinationLimiter.EffectiveLimit(5, null, at, TimeSpan.FromMinutes(1)));
        Assert.Equal(Math.Min(5, 1 + (secondsSince / 10)), DestinationLimiter.EffectiveLimit(5, new BackoffRow(1, at, default), at.AddSeconds(secondsSince), TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task AcquireMessage_RateAcrossHosts_NeverMoreThanThePerMinuteLimitInOneWindow()
    {
        var destination = $"mx.rate-{Guid.NewGuid():N}.test";
        var limit = new DestinationLimit(20, MessagesPerMinute: 25);
        var hosts = new[] { Host(TimeSpan.FromMilliseconds(100)), Host(TimeSpan.FromMilliseconds(100)), Host(TimeSpan.FromMilliseconds(100)) };
        var start = DateTimeOffset.UtcNow;
        if (start.Second >= 30)
        {
            // Keep the whole test inside one minute window.
            await Task.Delay(TimeSpan.FromSeconds(61 - start.Second));
        }

        var granted = await Task.WhenAll(hosts.SelectMany(host => Enumerable.Range(0, 15).Select(_ =>
            host.AcquireMessageAsync(destination, limit, CancellationToken.None))));

        // Never more than the rate (45 requests race for 25 tokens). Fewer may be granted: tokens a host reserved
        // while its last requests gave up go unused, more of them on a loaded machine.
        Assert.InRange(granted.Count(g => g), 1, 25);
    }

    [Fact]
    public async Task AcquireMessage_NoRate_CostsNoStorageOperation()
    {
        var counting = new CountingTables(azurite.ConnectionString);
        var limiter = new DestinationLimiter(new DestinationLimitStore(counting.Client), new DestinationLimitSettings { Default = new(20, 0), MaxWait = TimeSpan.FromSeconds(1) }, TimeProvider.System, new InstanceIdentity());

        for (var i = 0; i < 100; i++)
        {
            Assert.True(await limiter.AcquireMessageAsync("mx.free.test", new DestinationLimit(20, 0), CancellationToken.None));
        }

        Assert.Equal(0, counting.Requests);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private sealed class CountingTables
    {
        private int _requests;

        public CountingTables(string connectionString)
        {
            var options = new TableClientOptions();
            options.AddPolicy(new CountingPolicy(() => Interlocked.Increment(ref _requests)), Azure.Core.HttpPipelinePosition.PerCall);
            Client = new TableServiceClient(connectionString, options);
        }

        public TableServiceClient Client { get; }
        public int Requests => Volatile.Read(ref _requests);

        private sealed class CountingPolicy(Action onRequest) : Azure.Core.Pipeline.HttpPipelineSynchronousPolicy
        {
            public override void OnSendingRequest(Azure.Core.HttpMessage message) => onRequest();
        }
    }
}
