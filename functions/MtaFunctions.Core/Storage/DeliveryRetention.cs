using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Configuration;

namespace MtaFunctions.Core.Storage;

/// <summary>
/// Deletes the delivery rows that have not changed for <c>Queue:Outbound:Deliveries:Retention</c>: without it the
/// Deliveries table grows with every message ever sent (and Azurite, which scans the whole table for each query,
/// gets slower with it).
/// </summary>
/// <remarks>
/// A row's age is its table <c>Timestamp</c>, the time of its last write, whichever layout it is in
/// (<see cref="DeliveryKeys"/>). The retention is at least a day longer than a message's lifetime (checked when
/// settings are read), so no row of a message still being retried goes. Rows are deleted with the ETag they were
/// read with: a row written again meanwhile stays. Memory stays at one query page and one transaction.
/// </remarks>
public sealed partial class DeliveryRetention(StorageAccount storage, OutboundSettings settings, TimeProvider time, ILogger<DeliveryRetention> logger)
{
    /// <summary>Daily, at a quiet hour (NCRONTAB with seconds).</summary>
    public const string Schedule = "0 40 2 * * *";

    private const int MaxTransactionRows = 100;

    private static readonly string[] KeysOnly = [nameof(ITableEntity.PartitionKey), nameof(ITableEntity.RowKey)];

    private readonly TableClient _table = storage.Tables.GetTableClient(StorageNames.DeliveriesTable);

    /// <summary>Deletes the rows last written before now minus the retention.</summary>
    /// <returns>How many rows were deleted (0 when the retention is 0, which keeps rows forever).</returns>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (settings.DeliveriesRetention <= TimeSpan.Zero)
        {
            return 0;
        }

        var cutoff = time.GetUtcNow() - settings.DeliveriesRetention;
        var deleted = 0;
        var batch = new List<TableTransactionAction>(MaxTransactionRows);
        await foreach (var row in _table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"Timestamp lt {cutoff}"), maxPerPage: 1000,
                           select: KeysOnly, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            // A transaction holds one partition; rows come ordered by partition.
            if (batch.Count == MaxTransactionRows || (batch.Count > 0 && batch[0].Entity.PartitionKey != row.PartitionKey))
            {
                deleted += await DeleteAsync(batch, cancellationToken).ConfigureAwait(false);
                batch.Clear();
            }

            batch.Add(new TableTransactionAction(TableTransactionActionType.Delete, row, row.ETag));
        }

        if (batch.Count > 0)
        {
            deleted += await DeleteAsync(batch, cancellationToken).ConfigureAwait(false);
        }

        Pruned(logger, deleted, cutoff);
        return deleted;
    }

    private async Task<int> DeleteAsync(List<TableTransactionAction> batch, CancellationToken cancellationToken)
    {
        try
        {
            await _table.SubmitTransactionAsync(batch, cancellationToken).ConfigureAwait(false);
            return batch.Count;
        }
        catch (TableTransactionFailedException)
        {
            // One row written again (412) or already gone (404) fails the whole transaction: the others go one by one.
            var deleted = 0;
            foreach (var action in batch)
            {
                try
                {
                    var response = await _table.DeleteEntityAsync(action.Entity.PartitionKey, action.Entity.RowKey, action.ETag, cancellationToken)
                        .ConfigureAwait(false);
                    deleted += response.Status == 404 ? 0 : 1;
                }
                catch (RequestFailedException e) when (e.Status is 404 or 412)
                {
                    // Gone already, or written since it was read: kept.
                }
            }

            return deleted;
        }
    }

    [LoggerMessage(5030, LogLevel.Information, "Deliveries retention: {Count} row(s) last written before {Cutoff:u} deleted")]
    private static partial void Pruned(ILogger logger, int count, DateTimeOffset cutoff);
}
