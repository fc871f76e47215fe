using Azure;
using Azure.Data.Tables;
using MtaFunctions.Client.Contract;

namespace MtaFunctions.Core.Storage;

/// <summary>One connection slot of a destination: held by <see cref="Holder"/> until <see cref="ExpiresAt"/>.</summary>
/// <param name="Index">Slot number (row <c>slot-NNN</c>).</param>
/// <param name="Holder">Instance and connection holding it.</param>
/// <param name="ExpiresAt">When the hold lapses unless renewed (a crashed instance frees its slots this way).</param>
/// <param name="ETag">Row version for optimistic concurrency.</param>
public sealed record SlotRow(int Index, string Holder, DateTimeOffset ExpiresAt, ETag ETag);

/// <summary>Messages started in the current one-minute window of a destination.</summary>
public sealed record RateRow(DateTimeOffset WindowStart, int Count, ETag ETag);

/// <summary>A reduced connection limit after the destination said it was busy; it grows back by one per <c>Limits:BusyRecovery</c>.</summary>
public sealed record BackoffRow(int Limit, DateTimeOffset At, ETag ETag);

/// <summary>Everything stored about one destination, read in one query.</summary>
public sealed record DestinationSnapshot(IReadOnlyList<SlotRow> Slots, RateRow? Rate, BackoffRow? Backoff);

/// <summary>
/// Table <c>DestinationLimits</c>: per destination (partition) its connection slots, its rate window and its
/// back-off, each a row changed only with the ETag it was read with, so that every instance of the fleet sees
/// one count (optimistic concurrency: a lost race is a 412/409, never a double grant).
/// </summary>
public sealed class DestinationLimitStore(TableServiceClient tables)
{
    private const string SlotPrefix = "slot-";
    private const string RateRowKey = "rate";
    private const string BackoffRowKey = "backoff";

    private readonly TableClient _table = tables.GetTableClient(StorageNames.DestinationLimitsTable);
    private volatile bool _created;

    /// <summary>Creates the table when missing.</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        _created = true;
    }

    /// <summary>Reads every row of a destination (one storage operation).</summary>
    public async Task<DestinationSnapshot> ReadAsync(string destination, CancellationToken cancellationToken)
    {
        var slots = new List<SlotRow>();
        RateRow? rate = null;
        BackoffRow? backoff = null;
        var partition = PartitionKey(destination);
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        // A filter string, not a lambda: the SDK compiles a lambda's captured values into a dynamic method per query.
        await foreach (var row in _table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partition}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (row.RowKey.StartsWith(SlotPrefix, StringComparison.Ordinal) && int.TryParse(row.RowKey.AsSpan(SlotPrefix.Length), out var index))
            {
                slots.Add(new SlotRow(index, row.GetString("Holder") ?? "", row.GetDateTimeOffset("ExpiresAt") ?? DateTimeOffset.MinValue, row.ETag));
            }
            else if (row.RowKey == RateRowKey)
            {
                rate = new RateRow(row.GetDateTimeOffset("WindowStart") ?? DateTimeOffset.MinValue, row.GetInt32("Count") ?? 0, row.ETag);
            }
            else if (row.RowKey == BackoffRowKey)
            {
                backoff = new BackoffRow(row.GetInt32("Limit") ?? 1, row.GetDateTimeOffset("At") ?? DateTimeOffset.MinValue, row.ETag);
            }
        }

        return new DestinationSnapshot(slots, rate, backoff);
    }

    /// <summary>Claims or renews slot <paramref name="index"/>: insert when <paramref name="etag"/> is null, else replace if unchanged.</summary>
    /// <param name="destination">MX host or route.</param>
    /// <param name="index">Slot number.</param>
    /// <param name="instance">The holding instance's name (what crash recovery looks the slot up by).</param>
    /// <param name="holder">Instance and connection.</param>
    /// <param name="expiresAt">When the hold lapses unless renewed.</param>
    /// <param name="etag">The row as read, or null to insert.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The new ETag, or null when another instance changed the row first.</returns>
    public Task<ETag?> TryWriteSlotAsync(
        string destination, int index, string instance, string holder, DateTimeOffset expiresAt, ETag? etag, CancellationToken cancellationToken) =>
        TryWriteAsync(
            new TableEntity(PartitionKey(destination), $"{SlotPrefix}{index:D3}") { ["Instance"] = instance, ["Holder"] = holder, ["ExpiresAt"] = expiresAt },
            etag, cancellationToken);

    /// <summary>
    /// Frees the slots <paramref name="instance"/> holds, at every destination: crash recovery, once the instance is
    /// known to be dead. Each row is deleted as it was read, so a slot claimed or renewed meanwhile stays.
    /// </summary>
    /// <param name="instance">The dead instance's name.</param>
    /// <param name="expiringBefore">Null to free all; else only slots whose hold ends before this (last renewed long enough ago).</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <remarks>One query over the whole table (a scan: the instance is not a key), plus one delete per slot freed.</remarks>
    /// <returns>How many slots were freed.</returns>
    public async Task<int> FreeSlotsOfAsync(string instance, DateTimeOffset? expiringBefore, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<TableEntity>();
        await foreach (var row in _table.QueryAsync<TableEntity>(
                               TableClient.CreateQueryFilter($"Instance eq {instance}"), select: ["PartitionKey", "RowKey", "ExpiresAt"], cancellationToken: cancellationToken)
                           .ConfigureAwait(false))
        {
            if (row.RowKey.StartsWith(SlotPrefix, StringComparison.Ordinal) && !(row.GetDateTimeOffset("ExpiresAt") >= expiringBefore))
            {
                rows.Add(row);
            }
        }

        var freed = 0;
        foreach (var row in rows)
        {
            try
            {
                await _table.DeleteEntityAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken).ConfigureAwait(false);
                freed++;
            }
            catch (RequestFailedException e) when (e.Status is 404 or 412)
            {
                // Lapsed and claimed by someone else since the query: theirs now.
            }
        }

        return freed;
    }

    /// <summary>Frees a slot this instance holds; a slot already taken over (after its hold lapsed) is left alone.</summary>
    public async Task ReleaseSlotAsync(string destination, int index, ETag etag, CancellationToken cancellationToken)
    {
        try
        {
            await _table.DeleteEntityAsync(PartitionKey(destination), $"{SlotPrefix}{index:D3}", etag, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            // Lapsed and taken (or freed) by someone else meanwhile: not ours any more.
        }
    }

    /// <summary>Writes the rate window (insert when <paramref name="etag"/> is null).</summary>
    /// <returns>False when another instance changed it first.</returns>
    public async Task<bool> TryWriteRateAsync(string destination, DateTimeOffset windowStart, int count, ETag? etag, CancellationToken cancellationToken) =>
        await TryWriteAsync(
            new TableEntity(PartitionKey(destination), RateRowKey) { ["WindowStart"] = windowStart, ["Count"] = count },
            etag, cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>Writes the back-off (insert when <paramref name="etag"/> is null).</summary>
    /// <returns>False when another instance changed it first.</returns>
    public async Task<bool> TryWriteBackoffAsync(string destination, int limit, DateTimeOffset at, ETag? etag, CancellationToken cancellationToken) =>
        await TryWriteAsync(
            new TableEntity(PartitionKey(destination), BackoffRowKey) { ["Limit"] = limit, ["At"] = at },
            etag, cancellationToken).ConfigureAwait(false) is not null;

    private async Task<ETag?> TryWriteAsync(TableEntity entity, ETag? etag, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var response = etag is { } version
                ? await _table.UpdateEntityAsync(entity, version, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false)
                : await _table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
            return response.Headers.ETag;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412 || (e.Status == 404 && etag is not null))
        {
            return null;
        }
    }

    private async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (!_created)
        {
            await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // Table keys may not hold '/', '\', '#', '?' or control characters; destinations are host names or route names.
    private static string PartitionKey(string destination) =>
        string.Create(destination.Length, destination, (span, text) =>
        {
            for (var i = 0; i < text.Length; i++)
            {
                span[i] = text[i] is '/' or '\\' or '#' or '?' || char.IsControl(text[i]) ? '_' : char.ToLowerInvariant(text[i]);
            }
        });
}
