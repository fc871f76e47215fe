using Azure.Data.Tables;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Policy.MtaSts;
using MtaFunctions.Core.Storage;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Policy.MtaSts;

/// <summary>The memory layer over the StsPolicies table (real Azurite), counting the table reads it makes.</summary>
public sealed class MtaStsPolicyCacheTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    [Fact]
    public async Task Burst_OfMessagesMissingMemory_SharesOneTableRead()
    {
        var (store, counting) = await StoresAsync();
        var policy = new CachedMtaStsPolicy("burst.test", "b1", "version: STSv1\nmode: enforce\nmx: mx.burst.test\nmax_age: 86400\n", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        await store.SaveAsync(policy, Ct);
        counting.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cache = new MtaStsPolicyCache(counting, TimeProvider.System);

        var reads = Enumerable.Range(0, 20).Select(_ => cache.GetAsync("burst.test", fromTable: false, Ct)).ToList();
        counting.Hold.SetResult();
        var entries = await Task.WhenAll(reads);

        Assert.Equal(1, counting.Reads);
        Assert.All(entries, e => Assert.Equal("b1", e!.Id));
        Assert.Equal("b1", (await cache.GetAsync("burst.test", fromTable: false, Ct))!.Id);
        Assert.Equal(1, counting.Reads);
    }

    [Fact]
    public async Task FromTable_NotShared_EachReadsTheTable_AndAFailedReadIsNotKept()
    {
        var (_, counting) = await StoresAsync();
        var cache = new MtaStsPolicyCache(counting, TimeProvider.System);

        await Task.WhenAll(cache.GetAsync("fresh.test", fromTable: true, Ct), cache.GetAsync("fresh.test", fromTable: true, Ct));
        Assert.Equal(2, counting.Reads);

        counting.Fail = true;
        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetAsync("failing.test", fromTable: false, Ct));
        counting.Fail = false;
        Assert.Null(await cache.GetAsync("failing.test", fromTable: false, Ct));
        Assert.Equal(4, counting.Reads);
    }

    private async Task<(StsPolicyStore Store, CountingStore Counting)> StoresAsync()
    {
        var tables = new TableServiceClient(azurite.ConnectionString);
        await tables.GetTableClient(StorageNames.StsPoliciesTable).CreateIfNotExistsAsync(Ct);
        var store = new StsPolicyStore(tables);
        return (store, new CountingStore(store));
    }

    /// <summary>The real table store, with its reads counted (and, when asked, held or failed before they go).</summary>
    private sealed class CountingStore(IMtaStsPolicyStore inner) : IMtaStsPolicyStore
    {
        private int _reads;

        public int Reads => Volatile.Read(ref _reads);

        public TaskCompletionSource? Hold { get; set; }

        public bool Fail { get; set; }

        public async Task<CachedMtaStsPolicy?> GetAsync(string domain, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _reads);
            if (Hold is { } hold)
            {
                await hold.Task;
            }

            return Fail ? throw new InvalidOperationException("injected: table unreachable") : await inner.GetAsync(domain, cancellationToken);
        }

        public Task SaveAsync(CachedMtaStsPolicy entry, CancellationToken cancellationToken) => inner.SaveAsync(entry, cancellationToken);

        public Task<bool> DeleteAsync(string domain, CancellationToken cancellationToken) => inner.DeleteAsync(domain, cancellationToken);

        public IAsyncEnumerable<CachedMtaStsPolicy> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);
    }
}
