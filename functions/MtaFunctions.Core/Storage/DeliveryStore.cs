using Azure;
using Azure.Data.Tables;
using MtaFunctions.Client.Contract;

namespace MtaFunctions.Core.Storage;

/// <summary>The Deliveries table: per-recipient state of every message.</summary>
public sealed class DeliveryStore(TableServiceClient tables)
{
    private readonly TableClient _table = tables.GetTableClient(StorageNames.DeliveriesTable);

    /// <summary>Creates the table when missing.</summary>
    public Task EnsureCreatedAsync(CancellationToken cancellationToken) => _table.CreateIfNotExistsAsync(cancellationToken);

    /// <summary>Every recipient row of a message, keyed by row key.</summary>
    public async Task<Dictionary<string, DeliveryRecord>> LoadAsync(string messageId, CancellationToken cancellationToken)
    {
        var rows = new Dictionary<string, DeliveryRecord>(StringComparer.Ordinal);
        await foreach (var row in _table.QueryAsync<DeliveryRecord>(r => r.PartitionKey == messageId, cancellationToken: cancellationToken)
                           .ConfigureAwait(false))
        {
            rows[row.RowKey] = row;
        }

        return rows;
    }

    /// <summary>Writes rows of one message in batches (one partition: up to 100 per transaction).</summary>
    public async Task SaveAsync(IReadOnlyList<DeliveryRecord> rows, CancellationToken cancellationToken)
    {
        foreach (var chunk in rows.Chunk(100))
        {
            var actions = chunk.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r, ETag.All));
            await _table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
        }
    }
}
