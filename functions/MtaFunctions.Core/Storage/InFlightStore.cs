using System.Text;
using Azure;
using Azure.Data.Tables;
using MtaFunctions.Client.Contract;

namespace MtaFunctions.Core.Storage;

/// <summary>A queue message an instance has taken and not yet finished, with the pop receipt it got.</summary>
public sealed record InFlightEntry(string MessageId, string PopReceipt);

/// <summary>One instance's row: its heartbeat and the messages it was working on when it last wrote.</summary>
/// <param name="Instance">The instance's name (row key).</param>
/// <param name="Heartbeat">When it last wrote.</param>
/// <param name="Messages">What it was working on then.</param>
/// <param name="ETag">Row version: a delete with it fails when the instance wrote since.</param>
/// <param name="Process">The process it runs in, as <c>ProcessStamp</c> writes it; null when it could name none.</param>
public sealed record InFlightInstance(string Instance, DateTimeOffset Heartbeat, IReadOnlyList<InFlightEntry> Messages, ETag ETag, string? Process = null);

/// <summary>
/// Table <c>InFlight</c>: one row per live instance (partition = the queue, row = the instance), replaced as a
/// whole, so that its cost is per instance and second, never per message.
/// </summary>
public sealed class InFlightStore(TableServiceClient tables)
{
    // A string property holds at most 32K UTF-16 characters; an entry is ~70. An instance works on at most
    // batchSize + newBatchThreshold messages (host.json: 48), so this bound is never reached in practice.
    private const int MaxEntries = 400;

    private readonly TableClient _table = tables.GetTableClient(StorageNames.InFlightTable);
    private volatile bool _created;

    /// <summary>Creates the table when missing.</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        _created = true;
    }

    /// <summary>Replaces <paramref name="instance"/>'s row (one storage operation).</summary>
    /// <param name="instance">The instance's name.</param>
    /// <param name="messages">What it works on now.</param>
    /// <param name="heartbeat">Now.</param>
    /// <param name="process">The process it runs in (a <c>ProcessStamp</c>), or null.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public async Task PublishAsync(
        string instance, IReadOnlyCollection<InFlightEntry> messages, DateTimeOffset heartbeat, string? process, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var text = new StringBuilder();
        foreach (var entry in messages.Take(MaxEntries))
        {
            text.Append(entry.MessageId).Append('\t').Append(entry.PopReceipt).Append('\n');
        }

        var row = new TableEntity(StorageNames.OutboundQueue, instance)
        {
            ["Heartbeat"] = heartbeat,
            ["Messages"] = text.ToString(),
        };
        if (process is not null)
        {
            row["Process"] = process;
        }

        await _table.UpsertEntityAsync(row, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every instance's row (one query).</summary>
    public async Task<IReadOnlyList<InFlightInstance>> ListAsync(CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<InFlightInstance>();
        await foreach (var row in _table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {StorageNames.OutboundQueue}"), cancellationToken: cancellationToken)
                           .ConfigureAwait(false))
        {
            var messages = (row.GetString("Messages") ?? "")
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split('\t'))
                .Where(parts => parts.Length == 2)
                .Select(parts => new InFlightEntry(parts[0], parts[1]))
                .ToList();
            rows.Add(new InFlightInstance(row.RowKey, row.GetDateTimeOffset("Heartbeat") ?? DateTimeOffset.MinValue, messages, row.ETag, row.GetString("Process")));
        }

        return rows;
    }

    /// <summary>Deletes a row as it was read; false when it changed meanwhile (its instance is alive after all).</summary>
    public async Task<bool> RemoveAsync(InFlightInstance row, CancellationToken cancellationToken)
    {
        try
        {
            await _table.DeleteEntityAsync(StorageNames.OutboundQueue, row.Instance, row.ETag, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            return false;
        }
    }

    /// <summary>Deletes this instance's own row (graceful shutdown).</summary>
    public async Task RemoveOwnAsync(string instance, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        await _table.DeleteEntityAsync(StorageNames.OutboundQueue, instance, ETag.All, cancellationToken).ConfigureAwait(false);
    }

    private async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (!_created)
        {
            await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
