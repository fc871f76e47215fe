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

        // A filter string, not a lambda: the SDK compiles a lambda's captured values into a new dynamic method
        // on every query (JIT work and finalizer load on every message).
        await foreach (var row in _table.QueryAsync<DeliveryRecord>(TableClient.CreateQueryFilter($"PartitionKey eq {messageId}"), cancellationToken: cancellationToken)
                           .ConfigureAwait(false))
        {
            rows[row.RowKey] = row;
        }

        return rows;
    }

    /// <summary>Writes rows of one message in batches (one partition: up to 100 per transaction).</summary>
    public async Task SaveAsync(IReadOnlyList<DeliveryRecord> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 1)
        {
            // The usual case (one recipient per domain): a plain upsert, no multipart batch to build and parse.
            await _table.UpsertEntityAsync(rows[0], TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return;
        }

        foreach (var chunk in rows.Chunk(100))
        {
            var actions = chunk.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r, ETag.All));
            await _table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
        }
    }
}
