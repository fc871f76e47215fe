using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using MtaFunctions.Client;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Storage;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Delivery;

/// <summary>
/// <c>Queue:Outbound:Deliveries:Retention</c> on a real Azurite: rows last written before the cutoff go, in both
/// layouts and past one transaction's 100 rows; rows written after it, and every row when the retention is 0, stay.
/// </summary>
public sealed class DeliveryRetentionTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private TableClient Deliveries => azurite.Tables.GetTableClient(StorageNames.DeliveriesTable);

    private DeliveryRetention Retention(DateTimeOffset now, string retention = "30d") =>
        new(StorageAccount.FromConnectionString(azurite.ConnectionString), Settings(retention).Outbound, new FakeTimeProvider(now), NullLogger<DeliveryRetention>.Instance);

    private static MtaSettings Settings(string retention) =>
        SettingsReader.Read(new ConfigurationBuilder().AddInMemoryCollection([new(SettingKeys.DeliveriesRetention, retention)]).Build());

    [Fact]
    public async Task Run_RowsWrittenBeforeCutoff_Deleted_LaterRowsKept()
    {
        await Deliveries.CreateIfNotExistsAsync(Ct);

        // Old: a shared-layout message with 130 recipients (two transactions in one partition), another shared one
        // and a producer's own id. New: the same kinds, written a moment later.
        var old = await WriteAsync(
            [(MtaClient.NewMessageId(TimeProvider.System), 130), (MtaClient.NewMessageId(TimeProvider.System), 1), ($"order-{Guid.NewGuid():N}", 2)]);
        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
        var recent = await WriteAsync([(MtaClient.NewMessageId(TimeProvider.System), 3), ($"order-{Guid.NewGuid():N}", 1)]);
        var oldest = old.Max(r => r.Timestamp!.Value);
        var newest = recent.Min(r => r.Timestamp!.Value);
        Assert.True(oldest < newest, "the two groups must be written at distinct times");
        var cutoff = oldest + ((newest - oldest) / 2);

        // Other tests of the class may have left rows before the cutoff: they count as well.
        var before = 0;
        await foreach (var _ in Deliveries.QueryAsync<DeliveryRecord>(r => r.Timestamp < cutoff, cancellationToken: Ct))
        {
            before++;
        }

        var deleted = await Retention(cutoff + TimeSpan.FromDays(30)).RunAsync(Ct);

        Assert.True(before >= old.Count);
        Assert.Equal(before, deleted);
        foreach (var row in old)
        {
            Assert.False((await Deliveries.GetEntityIfExistsAsync<DeliveryRecord>(row.PartitionKey, row.RowKey, cancellationToken: Ct)).HasValue, row.RowKey);
        }

        foreach (var row in recent)
        {
            Assert.True((await Deliveries.GetEntityIfExistsAsync<DeliveryRecord>(row.PartitionKey, row.RowKey, cancellationToken: Ct)).HasValue, row.RowKey);
        }
    }

    [Fact]
    public async Task Run_RowWrittenAgainBeforeTheDelete_Kept_OthersOfItsTransactionDeleted()
    {
        await Deliveries.CreateIfNotExistsAsync(Ct);
        var rows = await WriteAsync([(MtaClient.NewMessageId(TimeProvider.System), 5)]);
        var rewritten = rows[2];

        // The delivery writes one of the rows between the timer's read and its transaction: that row is new again.
        var writer = new RewriteBeforeFirstBatch(() => Deliveries.UpsertEntity(new DeliveryRecord(rewritten.MessageId(), rewritten.Recipient) { State = nameof(DeliveryState.Deferred) }));
        var retention = new DeliveryRetention(
            StorageAccount.FromConnectionString(azurite.ConnectionString, writer), Settings("30d").Outbound,
            new FakeTimeProvider(rows.Max(r => r.Timestamp!.Value) + TimeSpan.FromDays(30) + TimeSpan.FromSeconds(1)), NullLogger<DeliveryRetention>.Instance);

        await retention.RunAsync(Ct);

        Assert.True(writer.Fired);
        foreach (var row in rows)
        {
            var stored = await Deliveries.GetEntityIfExistsAsync<DeliveryRecord>(row.PartitionKey, row.RowKey, cancellationToken: Ct);
            Assert.Equal(row.RowKey == rewritten.RowKey, stored.HasValue);
        }
    }

    [Fact]
    public async Task Run_RetentionZero_KeepsEveryRow()
    {
        await Deliveries.CreateIfNotExistsAsync(Ct);
        var rows = await WriteAsync([(MtaClient.NewMessageId(TimeProvider.System), 2)]);

        var deleted = await Retention(DateTimeOffset.UtcNow + TimeSpan.FromDays(3650), "0").RunAsync(Ct);

        Assert.Equal(0, deleted);
        Assert.True((await Deliveries.GetEntityIfExistsAsync<DeliveryRecord>(rows[0].PartitionKey, rows[0].RowKey, cancellationToken: Ct)).HasValue);
    }

    [Fact]
    public void Schedule_LocalHostAndFunctionApp_Same() => TimerSchedules.AssertSame(typeof(PruneDeliveries), DeliveryRetention.Schedule);

    private sealed class RewriteBeforeFirstBatch(Action rewrite) : HttpPipelineSynchronousPolicy
    {
        public bool Fired { get; private set; }

        public override void OnSendingRequest(HttpMessage message)
        {
            if (!Fired && message.Request.Uri.Path.EndsWith("$batch", StringComparison.Ordinal))
            {
                Fired = true;
                rewrite();
            }
        }
    }

    // Writes each message's rows (one per recipient) and reads them back with the Timestamp the table gave them.
    private async Task<List<DeliveryRecord>> WriteAsync(IEnumerable<(string Id, int Recipients)> messages)
    {
        var written = new List<DeliveryRecord>();
        foreach (var (id, recipients) in messages)
        {
            var rows = Enumerable.Range(0, recipients)
                .Select(i => new DeliveryRecord(id, $"r{i}@retention.test") { State = nameof(DeliveryState.Delivered), QueuedAt = DateTimeOffset.UtcNow })
                .ToList();
            foreach (var chunk in rows.Chunk(100))
            {
                await Deliveries.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)), Ct);
            }

            await foreach (var row in Deliveries.QueryAsync<DeliveryRecord>(DeliveryKeys.MessageFilter(id), cancellationToken: Ct))
            {
                written.Add(row);
            }
        }

        return written;
    }
}
