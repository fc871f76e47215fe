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

    /// <summary>The rows a queue message's delivery must know of, keyed by row key: every row of the message.</summary>
    /// <remarks>
    /// A message with one recipient in all has at most one row, read by its keys. Both are one operation in
    /// Azure, but a point read is answered from the keys where Azurite runs a partition query over every entity
    /// of the table, so the local host slowed down as the table grew.
    /// </remarks>
    public async Task<Dictionary<string, DeliveryRecord>> LoadAsync(OutboundEnvelope envelope, CancellationToken cancellationToken)
    {
        if (envelope.To.Count != 1 || envelope.RecipientCount > 1)
        {
            return await LoadAsync(envelope.Id, cancellationToken).ConfigureAwait(false);
        }

        var rows = new Dictionary<string, DeliveryRecord>(StringComparer.Ordinal);
        var key = DeliveryRecord.RowKeyFor(envelope.To[0]);
        var row = await _table.GetEntityIfExistsAsync<DeliveryRecord>(envelope.Id, key, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (row.HasValue)
        {
            rows[key] = row.Value!;
        }

        return rows;
    }

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
