using System.Net;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using MtaFunctions.Client.Contract;

namespace MtaFunctions.Core.Storage;

/// <summary>A period that has been planned: its domains' <see cref="TlsReportPlan"/> rows all exist.</summary>
/// <remarks>Partition <c>period</c>, row = period key. Read by the report timer to skip planning and finished periods.</remarks>
public sealed class TlsReportPeriodMarker : ITableEntity
{
    public string PartitionKey { get; set; } = SentTlsReportsStore.PeriodPartition;
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    /// <summary>Period start (the timer's look-back window and the CLI read it).</summary>
    public DateTimeOffset PeriodStart { get; set; }

    /// <summary>Policy domains planned (CLI).</summary>
    public int Domains { get; set; }

    /// <summary>Every plan of the period is done: the timer stops looking at it.</summary>
    public bool Complete { get; set; }
}

/// <summary>The report of one policy domain for one period.</summary>
/// <remarks>Partition = period key, row = policy domain. Created once (insert-if-absent) so every instance agrees on
/// the report-id and the random send time.</remarks>
public sealed class TlsReportPlan : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    /// <summary>report-id of the report (the same in every retry and to every rua).</summary>
    public string ReportId { get; set; } = "";

    /// <summary>Not sent before this (RFC 8460 §4.1 random delay; later the earliest rua retry).</summary>
    public DateTimeOffset NotBefore { get; set; }

    /// <summary><c>pending</c> or <c>done</c>.</summary>
    public string State { get; set; } = "pending";

    /// <summary>Why it is done (sent, no TLSRPT record, given up, ...), for the CLI.</summary>
    public string? Outcome { get; set; }

    /// <summary>The first attempt to send it (its record looked up): RFC 8460 §5.5's 24 hours count from here.</summary>
    public DateTimeOffset? FirstAttempt { get; set; }

    /// <summary>Lookups of its TLSRPT record that failed (the back-off doubles with each).</summary>
    public int LookupFailures { get; set; }
}

/// <summary>Sending one report to one rua: the claim that makes it happen once.</summary>
/// <remarks>Partition = period key + <c>-rua</c>, row = <c>domain!hash(rua)</c>. Inserted (If-None-Match) by the instance
/// that sends first; later changes are ETag-checked, so two instances never send the same report to the same rua.</remarks>
public sealed class TlsReportDelivery : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string Domain { get; set; } = "";
    public string Rua { get; set; } = "";
    public string ReportId { get; set; } = "";

    /// <summary><c>sending</c> (claimed), <c>sent</c>, <c>retry</c>, <c>gave-up</c>, <c>too-large</c>, <c>suppressed</c>.</summary>
    public string State { get; set; } = "";

    public int Attempts { get; set; }

    /// <summary>Start of the 24 h retry window (RFC 8460 §5.5).</summary>
    public DateTimeOffset FirstAttempt { get; set; }

    /// <summary>When a <c>retry</c> is due.</summary>
    public DateTimeOffset NextAttempt { get; set; }

    /// <summary>A <c>sending</c> claim older than this belongs to an instance that died: it may be taken over.</summary>
    public DateTimeOffset LeaseUntil { get; set; }

    public string? LastError { get; set; }

    /// <summary>Size of what was (or would have been) sent.</summary>
    public long Size { get; set; }

    public DateTimeOffset? SentAt { get; set; }

    /// <summary>States after which nothing more happens.</summary>
    public bool IsFinal => State is "sent" or "gave-up" or "too-large" or "suppressed";
}

/// <summary>How an rua has fared across periods, to suppress one that keeps failing.</summary>
public sealed class TlsReportRuaHealth : ITableEntity
{
    public string PartitionKey { get; set; } = SentTlsReportsStore.RuaPartition;
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string Rua { get; set; } = "";

    /// <summary>Periods in a row whose report this rua never accepted.</summary>
    public int FailedPeriods { get; set; }

    public DateTimeOffset? SuppressedUntil { get; set; }
}

/// <summary>The SentTlsReports table: plans, per-rua claims and rua health of outgoing TLS reports.</summary>
public sealed class SentTlsReportsStore(TableServiceClient tables)
{
    /// <summary>Partition of <see cref="TlsReportPeriodMarker"/> rows.</summary>
    public const string PeriodPartition = "period";

    /// <summary>Partition of <see cref="TlsReportRuaHealth"/> rows.</summary>
    public const string RuaPartition = "rua";

    private readonly TableClient _table = tables.GetTableClient(StorageNames.SentTlsReportsTable);

    /// <summary>Creates the table when missing.</summary>
    public Task EnsureCreatedAsync(CancellationToken cancellationToken) => _table.CreateIfNotExistsAsync(cancellationToken);

    /// <summary>The partition of a period's rua rows.</summary>
    public static string DeliveryPartition(string periodKey) => periodKey + "-rua";

    /// <summary>The row key of a domain's rua: row keys cannot hold '/', so the URI is hashed.</summary>
    public static string DeliveryRow(string domain, string rua) => $"{domain}!{Hash(rua)}";

    /// <summary>A short stable hash of an rua.</summary>
    public static string Hash(string rua) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(rua)))[..24];

    /// <summary>Every period marker.</summary>
    public async Task<List<TlsReportPeriodMarker>> MarkersAsync(CancellationToken cancellationToken) =>
        await ToListAsync(_table.QueryAsync<TlsReportPeriodMarker>(e => e.PartitionKey == PeriodPartition, cancellationToken: cancellationToken)).ConfigureAwait(false);

    /// <summary>Writes (or rewrites) a period marker.</summary>
    public Task UpsertMarkerAsync(TlsReportPeriodMarker marker, CancellationToken cancellationToken) =>
        _table.UpsertEntityAsync(marker, TableUpdateMode.Replace, cancellationToken);

    /// <summary>Inserts plans that do not exist yet; existing ones (another instance's) are kept as they are.</summary>
    /// <returns>Table operations used.</returns>
    public async Task<int> AddPlansAsync(IReadOnlyList<TlsReportPlan> plans, CancellationToken cancellationToken)
    {
        var operations = 0;
        foreach (var chunk in plans.Chunk(100))
        {
            operations++;
            try
            {
                await _table.SubmitTransactionAsync(chunk.Select(p => new TableTransactionAction(TableTransactionActionType.Add, p)), cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (TableTransactionFailedException e) when (e.Status == (int)HttpStatusCode.Conflict)
            {
                // Another instance planned some of them first: add the rest one by one, keeping theirs.
                foreach (var plan in chunk)
                {
                    operations++;
                    await TryAddAsync(plan, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        return operations;
    }

    /// <summary>Every plan of a period.</summary>
    public async Task<List<TlsReportPlan>> PlansAsync(string periodKey, CancellationToken cancellationToken) =>
        await ToListAsync(_table.QueryAsync<TlsReportPlan>(e => e.PartitionKey == periodKey, cancellationToken: cancellationToken)).ConfigureAwait(false);

    /// <summary>Every rua row of a period.</summary>
    public async Task<List<TlsReportDelivery>> DeliveriesAsync(string periodKey, CancellationToken cancellationToken)
    {
        var partition = DeliveryPartition(periodKey);
        return await ToListAsync(_table.QueryAsync<TlsReportDelivery>(e => e.PartitionKey == partition, cancellationToken: cancellationToken))
            .ConfigureAwait(false);
    }

    /// <summary>Replaces a plan if nobody changed it since it was read.</summary>
    public Task<bool> TryUpdateAsync(TlsReportPlan plan, CancellationToken cancellationToken) => TryUpdateEntityAsync(plan, cancellationToken);

    /// <summary>One rua row, or null.</summary>
    public async Task<TlsReportDelivery?> DeliveryAsync(string periodKey, string rowKey, CancellationToken cancellationToken)
    {
        var response = await _table.GetEntityIfExistsAsync<TlsReportDelivery>(DeliveryPartition(periodKey), rowKey, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>Inserts a row unless it exists (If-None-Match); false when another instance was first.</summary>
    public async Task<bool> TryAddAsync(ITableEntity entity, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
            entity.ETag = response.Headers.ETag ?? entity.ETag;
            return true;
        }
        catch (RequestFailedException e) when (e.Status == (int)HttpStatusCode.Conflict)
        {
            return false;
        }
    }

    /// <summary>Replaces a row if its ETag still matches; false when another instance changed it first.</summary>
    public async Task<bool> TryUpdateEntityAsync(ITableEntity entity, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            entity.ETag = response.Headers.ETag ?? entity.ETag;
            return true;
        }
        catch (RequestFailedException e) when (e.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>An rua's health row, or a fresh one.</summary>
    public async Task<TlsReportRuaHealth> HealthAsync(string rua, CancellationToken cancellationToken)
    {
        var response = await _table.GetEntityIfExistsAsync<TlsReportRuaHealth>(RuaPartition, Hash(rua), cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        return response.HasValue ? response.Value! : new TlsReportRuaHealth { RowKey = Hash(rua), Rua = rua };
    }

    /// <summary>Writes an rua's health (last writer wins: the counter is advisory).</summary>
    public Task UpsertHealthAsync(TlsReportRuaHealth health, CancellationToken cancellationToken) =>
        _table.UpsertEntityAsync(health, TableUpdateMode.Replace, cancellationToken);

    /// <summary>Deletes a period's plans, rua rows and marker (retention).</summary>
    public async Task DeletePeriodAsync(string periodKey, CancellationToken cancellationToken)
    {
        foreach (var partition in new[] { periodKey, DeliveryPartition(periodKey) })
        {
            var keys = await ToListAsync(_table.QueryAsync<TableEntity>(e => e.PartitionKey == partition, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
                .ConfigureAwait(false);
            foreach (var chunk in keys.Chunk(100))
            {
                await _table.SubmitTransactionAsync(chunk.Select(k => new TableTransactionAction(TableTransactionActionType.Delete, k, ETag.All)), cancellationToken)
                    .ConfigureAwait(false);
            }
        }

        await _table.DeleteEntityAsync(PeriodPartition, periodKey, ETag.All, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<List<T>> ToListAsync<T>(AsyncPageable<T> pages)
        where T : notnull
    {
        var list = new List<T>();
        await foreach (var item in pages.ConfigureAwait(false))
        {
            list.Add(item);
        }

        return list;
    }
}
