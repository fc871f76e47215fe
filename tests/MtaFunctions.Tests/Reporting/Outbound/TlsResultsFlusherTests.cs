using Azure.Data.Tables;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Core.Storage;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Reporting.Outbound;

public sealed class TlsResultsFlusherTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private static TlsSessionResult Session(int domain, TlsRptResultType? failure = null) =>
        new(TlsRptPolicy.NoPolicy($"d{domain}.example"), $"mx.d{domain}.example", "192.0.2.1", "198.51.100.7", failure);

    private sealed class Instance : IDisposable
    {
        public Instance(TableServiceClient tables, TimeProvider time, TlsReportFrequency send = TlsReportFrequency.Daily)
        {
            Counter = new TlsSessionCounter(time);
            Flusher = new TlsResultsFlusher(
                Counter, new TlsResultsStore(tables), TlsReportBuilderTests.Settings with { Send = send }, time, NullLogger<TlsResultsFlusher>.Instance);
        }

        public TlsSessionCounter Counter { get; }
        public TlsResultsFlusher Flusher { get; }

        public void Dispose()
        {
            Flusher.Dispose();
            Counter.Dispose();
        }
    }

    [Fact]
    public async Task FlushAsync_ConcurrentInstancesAndARestart_CountsAddUpExactly()
    {
        await ReportingTables.ResetAsync(storage);
        var time = new FakeTimeProvider(Noon);
        var store = new TlsResultsStore(storage.Tables);
        using var a = new Instance(storage.Tables, time);
        using var b = new Instance(storage.Tables, time);
        const int perTask = 5_000;

        // Four tasks per instance record while each instance flushes over and over.
        async Task RecordAndFlushAsync(Instance instance)
        {
            var recording = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
            {
                for (var i = 0; i < perTask; i++)
                {
                    instance.Counter.Record(Session(i % 50, i % 10 == 0 ? TlsRptResultType.StartTlsNotSupported : null));
                }
            })).ToArray();
            while (!recording.All(t => t.IsCompleted))
            {
                await instance.Flusher.FlushAsync(CancellationToken.None);
            }

            await Task.WhenAll(recording);
            await instance.Flusher.FlushAsync(CancellationToken.None);
        }

        await Task.WhenAll(RecordAndFlushAsync(a), RecordAndFlushAsync(b));

        // Instance a restarts: a new process, a new counter and flusher, counting on.
        using var restarted = new Instance(storage.Tables, time);
        Assert.NotEqual(a.Flusher.InstanceId, restarted.Flusher.InstanceId);
        await RecordAndFlushAsync(restarted);

        var sums = await store.ReadAsync([TlsReportPeriod.HourKey(Noon)], CancellationToken.None);
        Assert.Equal(3L * 4 * perTask, sums.Values.Sum());
        Assert.Equal(3L * 4 * (perTask / 10), sums.Where(s => s.Key.Failure is not null).Sum(s => s.Value));
        Assert.Equal(50, sums.Count); // d0, d10 .. d40 always fail, the other 45 domains always succeed
        Assert.Equal(3L * 4 * perTask / 50, sums.Where(s => s.Key.Policy.Domain == "d7.example").Sum(s => s.Value));
    }

    [Fact]
    public async Task WriteAsync_SameFlushTwice_CountedOnce()
    {
        await ReportingTables.ResetAsync(storage);
        var store = new TlsResultsStore(storage.Tables);
        var hour = TlsReportPeriod.HourKey(Noon);
        // 20,000 groups with STS policy strings: about 5 MB of stored text, more than one transaction may carry.
        var counts = Enumerable.Range(0, 20_000).ToDictionary(
            i => new TlsSessionHourKey(hour, new TlsSessionKey(
                new TlsRptPolicy(TlsRptPolicyType.Sts, $"d{i}.example", ["version: STSv1", "mode: enforce", $"mx: mx.d{i}.example", "max_age: 604800"], [$"mx.d{i}.example"]),
                $"mx.d{i}.example", "192.0.2.1", "198.51.100.7", null, null)),
            _ => 2L);

        // A write whose answer was lost (timeout) is written again: upsert-replace under the same keys.
        var entities = TlsResultsStore.ToEntities("host-1", 1, counts);
        await store.WriteAsync(entities, CancellationToken.None);
        await store.WriteAsync(TlsResultsStore.ToEntities("host-1", 1, counts), CancellationToken.None);
        var sums = await store.ReadAsync([hour], CancellationToken.None);
        Assert.Equal(40_000, sums.Values.Sum());
        Assert.Equal(20_000, sums.Count);
    }

    [Fact]
    public async Task FlushAsync_ManyGroups_FewTransactionsNotOnePerSession()
    {
        await ReportingTables.ResetAsync(storage);
        var time = new FakeTimeProvider(Noon);
        using var instance = new Instance(storage.Tables, time);
        for (var i = 0; i < 100_000; i++)
        {
            instance.Counter.Record(Session(i % 2000));
        }

        await instance.Flusher.FlushAsync(CancellationToken.None);
        Assert.InRange(instance.Flusher.Transactions, 1, 2);
        var rows = 0;
        await foreach (var _ in storage.Tables.GetTableClient(StorageNames.TlsResultsTable).QueryAsync<TableEntity>())
        {
            rows++;
        }

        Assert.InRange(rows, 1, 8);
    }

    [Fact]
    public async Task FlushAsync_SendNever_WritesNothing()
    {
        await ReportingTables.ResetAsync(storage);
        var time = new FakeTimeProvider(Noon);
        using var instance = new Instance(storage.Tables, time, TlsReportFrequency.Never);
        instance.Counter.Record(Session(1));
        Assert.Equal(0, await instance.Flusher.FlushAsync(CancellationToken.None));
        var sums = await new TlsResultsStore(storage.Tables).ReadAsync([TlsReportPeriod.HourKey(Noon)], CancellationToken.None);
        Assert.Empty(sums);
    }
}
