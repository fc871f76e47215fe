using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure;
using Azure.Data.Tables;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Storage;

/// <summary>The TlsResults table: TLS session counts flushed by every instance, summed when reports are built.</summary>
/// <remarks>
/// <para>Layout: partition = UTC hour (<c>2026112815</c>), row = <c>&lt;instance&gt;-&lt;flush seq&gt;-&lt;chunk&gt;</c>; each
/// row holds many counted groups as compact JSON, split over string properties <c>P00</c>.. (a table string
/// property holds at most 32K characters).</para>
/// <para>Why per-instance rows instead of shared counters: a flush never reads or modifies another row, so
/// instances never contend and no ETag retry loop is needed; a flush whose outcome is unknown (timeout) is
/// simply written again under the same keys with the same content (upsert-replace is idempotent), so a retry
/// never counts twice; a restarted instance gets a new instance id, so it never overwrites rows of its earlier
/// life. Readers sum every row of the period's hours. Writes grow with distinct groups per flush (about one
/// transaction per hour touched per flush), never with messages.</para>
/// </remarks>
public sealed class TlsResultsStore(TableServiceClient tables)
{
    /// <summary>Characters per string property (the service limit is 32,768).</summary>
    private const int PartChars = 30_000;

    /// <summary>Parts per entity: 10 × 30,000 UTF-16 characters stays under the 1 MiB entity limit.</summary>
    private const int MaxParts = 10;

    /// <summary>
    /// Stored characters per transaction: a transaction's payload is capped at 4 MiB, and JSON inside the
    /// OData JSON body grows by its escaped quotes (about a quarter here), so stay well below.
    /// </summary>
    private const int CharsPerTransaction = 1_500_000;

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private readonly TableClient _table = tables.GetTableClient(StorageNames.TlsResultsTable);

    /// <summary>Creates the table when missing.</summary>
    public Task EnsureCreatedAsync(CancellationToken cancellationToken) => _table.CreateIfNotExistsAsync(cancellationToken);

    /// <summary>Turns one drained set of counts into the entities of one flush; the same input gives the same entities.</summary>
    /// <param name="instanceId">This process's id (unique per process start).</param>
    /// <param name="sequence">The flush number within the process.</param>
    /// <param name="counts">What was drained.</param>
    public static IReadOnlyList<TableEntity> ToEntities(string instanceId, long sequence, IReadOnlyDictionary<TlsSessionHourKey, long> counts)
    {
        var entities = new List<TableEntity>();
        foreach (var hour in counts.GroupBy(c => c.Key.Hour).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var chunk = 0;
            var text = new StringBuilder("[");
            foreach (var (key, count) in hour)
            {
                var row = JsonSerializer.Serialize(StoredCount.From(key.Key, count), Json);
                if (text.Length > 1 && text.Length + row.Length + 2 > PartChars * MaxParts)
                {
                    entities.Add(Entity(hour.Key, instanceId, sequence, chunk++, text.Append(']').ToString()));
                    text.Clear().Append('[');
                }

                text.Append(text.Length > 1 ? "," : "").Append(row);
            }

            entities.Add(Entity(hour.Key, instanceId, sequence, chunk, text.Append(']').ToString()));
        }

        return entities;
    }

    /// <summary>Writes a flush's entities (upsert-replace, so writing the same flush twice changes nothing).</summary>
    /// <returns>The number of table transactions used.</returns>
    public async Task<int> WriteAsync(IReadOnlyList<TableEntity> entities, CancellationToken cancellationToken)
    {
        var transactions = 0;
        foreach (var partition in entities.GroupBy(e => e.PartitionKey))
        {
            var batch = new List<TableTransactionAction>();
            var chars = 0;
            foreach (var entity in partition)
            {
                var size = entity.Keys.Select(k => entity[k]).OfType<string>().Sum(v => v.Length);
                if (batch.Count > 0 && (chars + size > CharsPerTransaction || batch.Count == 100))
                {
                    await _table.SubmitTransactionAsync(batch, cancellationToken).ConfigureAwait(false);
                    transactions++;
                    batch = [];
                    chars = 0;
                }

                batch.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, entity, ETag.All));
                chars += size;
            }

            if (batch.Count > 0)
            {
                await _table.SubmitTransactionAsync(batch, cancellationToken).ConfigureAwait(false);
                transactions++;
            }
        }

        return transactions;
    }

    /// <summary>Every counted group of the given hours, summed over all instances and flushes.</summary>
    public async Task<Dictionary<TlsSessionKey, long>> ReadAsync(IEnumerable<string> hourKeys, CancellationToken cancellationToken)
    {
        var sums = new Dictionary<TlsSessionKey, long>();
        foreach (var hour in hourKeys)
        {
            await foreach (var entity in _table.QueryAsync<TableEntity>(e => e.PartitionKey == hour, cancellationToken: cancellationToken)
                               .ConfigureAwait(false))
            {
                var text = new StringBuilder();
                for (var i = 0; entity.TryGetValue(PartName(i), out var part) && part is string s; i++)
                {
                    text.Append(s);
                }

                foreach (var stored in JsonSerializer.Deserialize<List<StoredCount>>(text.ToString(), Json) ?? [])
                {
                    var key = stored.ToKey();
                    sums[key] = sums.GetValueOrDefault(key) + stored.N;
                }
            }
        }

        return sums;
    }

    /// <summary>Deletes every row of the given hours (a period whose reports are all done).</summary>
    /// <returns>Table operations used.</returns>
    public async Task<int> DeleteAsync(IEnumerable<string> hourKeys, CancellationToken cancellationToken)
    {
        var operations = 0;
        foreach (var hour in hourKeys)
        {
            var keys = new List<TableEntity>();
            await foreach (var row in _table.QueryAsync<TableEntity>(e => e.PartitionKey == hour, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken)
                               .ConfigureAwait(false))
            {
                keys.Add(row);
            }

            operations++;
            foreach (var chunk in keys.Chunk(100))
            {
                await _table.SubmitTransactionAsync(chunk.Select(k => new TableTransactionAction(TableTransactionActionType.Delete, k, ETag.All)), cancellationToken)
                    .ConfigureAwait(false);
                operations++;
            }
        }

        return operations;
    }

    private static TableEntity Entity(string hour, string instanceId, long sequence, int chunk, string json)
    {
        var entity = new TableEntity(hour, $"{instanceId}-{sequence:D10}-{chunk:D4}");
        for (var i = 0; i * PartChars < json.Length; i++)
        {
            entity[PartName(i)] = json.Substring(i * PartChars, Math.Min(PartChars, json.Length - (i * PartChars)));
        }

        return entity;
    }

    private static string PartName(int i) => $"P{i:D2}";

    /// <summary>One counted group as stored: short names keep rows small.</summary>
    private sealed class StoredCount
    {
        /// <summary>Policy type word (sts, tlsa, no-policy-found).</summary>
        public required string T { get; init; }

        /// <summary>Policy domain.</summary>
        public required string D { get; init; }

        /// <summary>Policy strings.</summary>
        public string[]? S { get; init; }

        /// <summary>MX host patterns.</summary>
        public string[]? M { get; init; }

        /// <summary>Receiving MX host name.</summary>
        public required string H { get; init; }

        /// <summary>Receiving IP.</summary>
        public string? R { get; init; }

        /// <summary>Sending IP.</summary>
        public string? I { get; init; }

        /// <summary>Result type word; null for successes.</summary>
        public string? F { get; init; }

        /// <summary>Failure reason code.</summary>
        public string? C { get; init; }

        /// <summary>Session count.</summary>
        public long N { get; init; }

        public static StoredCount From(TlsSessionKey key, long count) => new()
        {
            T = key.Policy.Type.ToWire(),
            D = key.Policy.Domain,
            S = key.Policy.Strings.Count > 0 ? [.. key.Policy.Strings] : null,
            M = key.Policy.MxHostPatterns.Count > 0 ? [.. key.Policy.MxHostPatterns] : null,
            H = key.ReceivingMxHostname,
            R = key.ReceivingIp,
            I = key.SendingIp,
            F = key.Failure?.ToWire(),
            C = key.FailureReasonCode,
            N = count,
        };

        public TlsSessionKey ToKey() => new(
            new TlsRptPolicy(
                TlsRptWords.ParsePolicyType(T) ?? TlsRptPolicyType.NoPolicyFound,
                D,
                S ?? [],
                M ?? []),
            H,
            R,
            I,
            F is null ? null : TlsRptWords.ParseResultType(F) ?? TlsRptResultType.ValidationFailure,
            C);
    }
}
