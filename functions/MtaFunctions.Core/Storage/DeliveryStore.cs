using Azure;
using Azure.Data.Tables;
using MtaFunctions.Client;
using MtaFunctions.Client.Contract;

namespace MtaFunctions.Core.Storage;

/// <summary>The Deliveries table: per-recipient state of every message.</summary>
/// <remarks>
/// The delivery reads a message's state before sending and writes its rows after. Messages queued at about the
/// same time share a partition (<see cref="DeliveryKeys"/>), so concurrent deliveries share those operations:
/// reads that arrive within <see cref="ReadWindow"/> go out as one query per partition (as many messages as a
/// query's 15 comparisons allow), and row writes as a group commit: up to four go at once, and those that
/// arrive while four run go together as one transaction per partition (up to 100 rows) as soon as one ends. A
/// write waits for no timer: the row of a delivered recipient is what stands between the MX's 250 and a second
/// copy after a crash. A batch that fails is tried again per message, so one message's bad row never fails
/// another's.
/// </remarks>
public sealed class DeliveryStore
{
    /// <summary>How long a state read waits for others to share its query.</summary>
    public static readonly TimeSpan ReadWindow = TimeSpan.FromMilliseconds(5);

    /// <summary>Row writes share a transaction by group commit: no window.</summary>
    public static readonly TimeSpan WriteWindow = TimeSpan.Zero;

    // Writes running at once before new ones wait to share: a slow transaction must not hold every delivered
    // row behind it (each one is what stands between an MX's 250 and a second copy after a crash).
    private const int ConcurrentWrites = 4;

    // Azure allows at most 15 comparisons in a filter: one for the partition, the rest select messages.
    private const int MaxComparisons = 14;

    // Bounded well below any URL limit whatever the recipients' lengths.
    private const int MaxFilterLength = 4000;

    private const int MaxTransactionRows = 100;

    private readonly TableClient _table;
    private readonly Coalescer<OutboundEnvelope, Dictionary<string, DeliveryRecord>> _reads;
    private readonly Coalescer<IReadOnlyList<DeliveryRecord>, bool> _writes;

    /// <summary>Creates the store over the account's tables.</summary>
    /// <param name="tables">The account's tables.</param>
    /// <param name="readWindow">Default <see cref="ReadWindow"/>.</param>
    /// <param name="writeWindow">Default <see cref="WriteWindow"/> (group commit); a window makes batches deterministic in tests.</param>
    public DeliveryStore(TableServiceClient tables, TimeSpan? readWindow = null, TimeSpan? writeWindow = null)
    {
        _table = tables.GetTableClient(StorageNames.DeliveriesTable);
        _reads = new(readWindow ?? ReadWindow, 64, ReadTogetherAsync);
        _writes = new(writeWindow ?? WriteWindow, MaxTransactionRows, WriteTogetherAsync, ConcurrentWrites);
    }

    /// <summary>Creates the table when missing.</summary>
    public Task EnsureCreatedAsync(CancellationToken cancellationToken) => _table.CreateIfNotExistsAsync(cancellationToken);

    /// <summary>The rows a queue message's delivery must know of, keyed by recipient key: every row of the message.</summary>
    /// <remarks>
    /// Shares a query with other messages of its partition asked for at about the same time; a message in a
    /// partition of its own (<see cref="DeliveryKeys.IsShared"/> false) has nobody to share with and does not wait.
    /// </remarks>
    public Task<Dictionary<string, DeliveryRecord>> LoadAsync(OutboundEnvelope envelope, CancellationToken cancellationToken) =>
        DeliveryKeys.IsShared(envelope.Id) ? _reads.Add(envelope).WaitAsync(cancellationToken) : ReadAloneAsync(envelope, cancellationToken);

    /// <summary>Every recipient row of a message, keyed by recipient key.</summary>
    public Task<Dictionary<string, DeliveryRecord>> LoadAsync(string messageId, CancellationToken cancellationToken) =>
        QueryAsync(DeliveryKeys.MessageFilter(messageId), cancellationToken);

    /// <summary>Writes rows of one message (one partition), sharing a transaction with other messages' rows written at about the same time.</summary>
    public Task SaveAsync(IReadOnlyList<DeliveryRecord> rows, CancellationToken cancellationToken) =>
        rows.Count == 0 ? Task.CompletedTask : _writes.Add(rows).WaitAsync(cancellationToken);

    private static string? OnlyRecipient(OutboundEnvelope envelope) =>
        envelope.To.Count == 1 && envelope.RecipientCount <= 1 ? envelope.To[0] : null;

    private async Task ReadTogetherAsync(IReadOnlyList<Coalescer<OutboundEnvelope, Dictionary<string, DeliveryRecord>>.Request> requests)
    {
        // Only shared-layout messages come here (LoadAsync reads the others alone).
        var queries = requests.GroupBy(r => DeliveryKeys.Partition(r.Value.Id), StringComparer.Ordinal)
            .SelectMany(partition => ReadGroups(partition).Select(group => ReadGroupAsync(partition.Key, group)));
        await Task.WhenAll(queries).ConfigureAwait(false);
    }

    // Messages per query: as many as the comparison budget and a bounded filter length allow.
    private static IEnumerable<List<(Coalescer<OutboundEnvelope, Dictionary<string, DeliveryRecord>>.Request Request, string Clause)>> ReadGroups(
        IEnumerable<Coalescer<OutboundEnvelope, Dictionary<string, DeliveryRecord>>.Request> requests)
    {
        var group = new List<(Coalescer<OutboundEnvelope, Dictionary<string, DeliveryRecord>>.Request, string)>();
        int comparisons = 0, length = 0;
        foreach (var request in requests)
        {
            var (clause, cost) = DeliveryKeys.RowsClause(request.Value.Id, OnlyRecipient(request.Value));
            if (group.Count > 0 && (comparisons + cost > MaxComparisons || length + clause.Length > MaxFilterLength))
            {
                yield return group;
                group = [];
                comparisons = length = 0;
            }

            group.Add((request, clause));
            comparisons += cost;
            length += clause.Length + 4;
        }

        if (group.Count > 0)
        {
            yield return group;
        }
    }

    private async Task ReadGroupAsync(
        string partition, List<(Coalescer<OutboundEnvelope, Dictionary<string, DeliveryRecord>>.Request Request, string Clause)> group)
    {
        if (group.Count == 1)
        {
            await ReadOneAsync(group[0].Request).ConfigureAwait(false);
            return;
        }

        // One envelope asked for twice in a window (two queue messages of it; the handler's claim keeps them apart,
        // but a duplicate must never fail the reads of every message in the batch): queried once.
        var byMessage = new Dictionary<string, Dictionary<string, DeliveryRecord>>(StringComparer.Ordinal);
        foreach (var (request, _) in group)
        {
            byMessage.TryAdd(request.Value.Id, new Dictionary<string, DeliveryRecord>(StringComparer.Ordinal));
        }

        try
        {
            var filter = $"{TableClient.CreateQueryFilter($"PartitionKey eq {partition}")} and ({string.Join(" or ", group.Select(g => g.Clause).Distinct(StringComparer.Ordinal))})";
            await foreach (var row in _table.QueryAsync<DeliveryRecord>(filter).ConfigureAwait(false))
            {
                if (byMessage.TryGetValue(DeliveryKeys.MessageIdOf(row), out var rows))
                {
                    rows[DeliveryKeys.RecipientKeyOf(row)] = row;
                }
            }
        }
        catch (Exception e) when (e is RequestFailedException or IOException or HttpRequestException)
        {
            // Whatever one message's keys did to the shared query, each message gets its own answer.
            await Task.WhenAll(group.Select(g => ReadOneAsync(g.Request))).ConfigureAwait(false);
            return;
        }

        // Each caller gets a dictionary of its own: the delivery adds its new rows to it.
        var answered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (request, _) in group)
        {
            var rows = byMessage[request.Value.Id];
            request.Done.TrySetResult(answered.Add(request.Value.Id) ? rows : new Dictionary<string, DeliveryRecord>(rows, StringComparer.Ordinal));
        }
    }

    private async Task ReadOneAsync(Coalescer<OutboundEnvelope, Dictionary<string, DeliveryRecord>>.Request request)
    {
        try
        {
            request.Done.TrySetResult(await ReadAloneAsync(request.Value, CancellationToken.None).ConfigureAwait(false));
        }
        catch (Exception e)
        {
            request.Done.TrySetException(e);
        }
    }

    private async Task<Dictionary<string, DeliveryRecord>> ReadAloneAsync(OutboundEnvelope envelope, CancellationToken cancellationToken)
    {
        if (OnlyRecipient(envelope) is not { } recipient)
        {
            return await QueryAsync(DeliveryKeys.MessageFilter(envelope.Id), cancellationToken).ConfigureAwait(false);
        }

        // A point read: answered from the keys, where Azurite runs a partition query over every entity of the table.
        var rows = new Dictionary<string, DeliveryRecord>(StringComparer.Ordinal);
        var row = await _table.GetEntityIfExistsAsync<DeliveryRecord>(DeliveryKeys.Partition(envelope.Id), DeliveryKeys.Row(envelope.Id, recipient), cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        if (row.HasValue)
        {
            rows[DeliveryKeys.RecipientKeyOf(row.Value!)] = row.Value!;
        }

        return rows;
    }

    private async Task<Dictionary<string, DeliveryRecord>> QueryAsync(string filter, CancellationToken cancellationToken)
    {
        var rows = new Dictionary<string, DeliveryRecord>(StringComparer.Ordinal);

        // A filter string, not a lambda: the SDK compiles a lambda's captured values into a new dynamic method
        // on every query (JIT work and finalizer load on every message).
        await foreach (var row in _table.QueryAsync<DeliveryRecord>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            rows[DeliveryKeys.RecipientKeyOf(row)] = row;
        }

        return rows;
    }

    private async Task WriteTogetherAsync(IReadOnlyList<Coalescer<IReadOnlyList<DeliveryRecord>, bool>.Request> requests)
    {
        await Task.WhenAll(requests.GroupBy(r => r.Value[0].PartitionKey, StringComparer.Ordinal).Select(WritePartitionAsync)).ConfigureAwait(false);
    }

    // One partition's requests in transactions of up to 100 rows, one after another so that two writes of a row
    // land in the order they were asked for (a transaction may not name a row twice).
    private async Task WritePartitionAsync(IEnumerable<Coalescer<IReadOnlyList<DeliveryRecord>, bool>.Request> requests)
    {
        var transaction = new List<Coalescer<IReadOnlyList<DeliveryRecord>, bool>.Request>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var request in requests)
        {
            if (transaction.Count > 0 && (keys.Count + request.Value.Count > MaxTransactionRows || request.Value.Any(r => keys.Contains(r.RowKey))))
            {
                await WriteTransactionAsync(transaction).ConfigureAwait(false);
                transaction = [];
                keys.Clear();
            }

            transaction.Add(request);
            keys.UnionWith(request.Value.Select(r => r.RowKey));
        }

        if (transaction.Count > 0)
        {
            await WriteTransactionAsync(transaction).ConfigureAwait(false);
        }
    }

    private async Task WriteTransactionAsync(List<Coalescer<IReadOnlyList<DeliveryRecord>, bool>.Request> requests)
    {
        if (requests.Count == 1)
        {
            await WriteOwnAsync(requests[0]).ConfigureAwait(false);
            return;
        }

        try
        {
            await _table.SubmitTransactionAsync(requests.SelectMany(r => r.Value).Select(Upsert)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RequestFailedException or TableTransactionFailedException or IOException or HttpRequestException)
        {
            // Whatever one message's row did to the shared transaction, each message gets its own answer, all at once.
            await Task.WhenAll(requests.Select(WriteOwnAsync)).ConfigureAwait(false);
            return;
        }

        foreach (var request in requests)
        {
            request.Done.TrySetResult(true);
        }
    }

    private async Task WriteOwnAsync(Coalescer<IReadOnlyList<DeliveryRecord>, bool>.Request request)
    {
        try
        {
            var rows = request.Value;
            if (rows.Count == 1)
            {
                // The usual case (one recipient per domain): a plain upsert, no multipart batch to build and parse.
                await _table.UpsertEntityAsync(rows[0], TableUpdateMode.Replace).ConfigureAwait(false);
            }
            else
            {
                foreach (var chunk in rows.Chunk(MaxTransactionRows))
                {
                    await _table.SubmitTransactionAsync(chunk.Select(Upsert)).ConfigureAwait(false);
                }
            }

            request.Done.TrySetResult(true);
        }
        catch (Exception e)
        {
            request.Done.TrySetException(e);
        }
    }

    private static TableTransactionAction Upsert(DeliveryRecord row) => new(TableTransactionActionType.UpsertReplace, row, ETag.All);
}
