using System.Globalization;
using System.Security.Cryptography;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Reporting.Inbound;

namespace MtaFunctions.Core.Storage;

/// <summary>
/// Moves received TLS reports stored in the first layout of <c>ReceivedTlsReports</c> into today's (one partition
/// per UTC day, see <see cref="ReceivedTlsReportStore"/>), once, at start-up, so the summary and the dashboard
/// show them and the day's running totals count them.
/// </summary>
/// <remarks>
/// <para>The first layout: a row per report and policy domain with PartitionKey = the domain and RowKey =
/// <c>yyyyMMdd_&lt;key&gt;</c>, and a claim per report in partition <see cref="OldClaimPartition"/> (RowKey = the key),
/// where the key was a hash of organisation and report-id only; every report's JSON was in a blob.</para>
/// <para>Each report moves in one transaction of its day partition (its claim, its rows, its domains' totals
/// with their ETags), under today's key (with the digest of its blob's JSON, so a re-sent copy is recognised
/// as a duplicate), and only then are its old rows deleted. Idempotent and safe on several instances at once:
/// a report whose claim is already in its day is not added again, only its old rows are removed; a marker
/// row ends the work for good so later start-ups read one row.</para>
/// </remarks>
public sealed class ReceivedTlsReportLayoutMigration(TableServiceClient tables, BlobServiceClient blobs, ILogger<ReceivedTlsReportLayoutMigration> logger) : IHostedService
{
    /// <summary>Partition of the first layout's claims.</summary>
    public const string OldClaimPartition = "!reports";

    /// <summary>Partition and row of the marker that says the table holds no row of the first layout.</summary>
    private const string MarkerPartition = "!layout";
    private const string MarkerRow = "day-partitions";

    private readonly TableClient _table = tables.GetTableClient(StorageNames.ReceivedTlsReportsTable);
    private readonly BlobContainerClient _container = blobs.GetBlobContainerClient(StorageNames.ReceivedTlsReportContainer);

    /// <summary>Runs the migration before the host takes requests; a failure is logged and retried at the next start.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            var moved = await RunAsync(cancellationToken).ConfigureAwait(false);
            if (moved > 0)
            {
                Log.Migrated(logger, moved);
            }
        }
        catch (Exception e) when (e is RequestFailedException or IOException or InvalidOperationException)
        {
            // Reporting never stops the host: the old rows stay where they are until a later start moves them.
            Log.MigrationFailed(logger, e);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Moves every report of the first layout; returns how many were moved by this call.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            if ((await _table.GetEntityIfExistsAsync<TableEntity>(MarkerPartition, MarkerRow, ["PartitionKey"], cancellationToken).ConfigureAwait(false)).HasValue)
            {
                return 0;
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // No table yet: nothing was ever stored, in any layout.
            return 0;
        }

        // Rows of today's layout start with c_, r_ or t_; the first layout's domain rows with a digit of their day.
        var reports = new Dictionary<string, OldReport>(StringComparer.Ordinal);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {OldClaimPartition} or RowKey lt {"a"}");
        await foreach (var row in _table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (row.PartitionKey == MarkerPartition)
            {
                continue;
            }

            var claim = row.PartitionKey == OldClaimPartition;
            var key = claim ? row.RowKey : row.RowKey[(row.RowKey.IndexOf('_', StringComparison.Ordinal) + 1)..];
            if (!reports.TryGetValue(key, out var report))
            {
                report = new OldReport(key);
                reports[key] = report;
            }

            if (claim)
            {
                report.Claim = row;
            }
            else if (row.RowKey.Length > 9 && row.RowKey[8] == '_')
            {
                report.Rows.Add(row);
            }
        }

        var moved = 0;
        foreach (var report in reports.Values)
        {
            if (report.Rows.Count > 0 && await MoveAsync(report, cancellationToken).ConfigureAwait(false))
            {
                moved++;
            }

            await DeleteAsync(report, cancellationToken).ConfigureAwait(false);
        }

        await _table.UpsertEntityAsync(new TableEntity(MarkerPartition, MarkerRow) { ["MovedAt"] = DateTimeOffset.UtcNow }, cancellationToken: cancellationToken).ConfigureAwait(false);
        return moved;
    }

    /// <summary>Writes the report into its day partition; false when it is there already.</summary>
    private async Task<bool> MoveAsync(OldReport report, CancellationToken cancellationToken)
    {
        var first = report.Rows[0];
        var partition = first.RowKey[..8];
        var blobName = report.Claim?.GetString("BlobName") ?? first.GetString("BlobName");
        var key = await NewKeyAsync(first.GetString("Organization") ?? "", first.GetString("ReportId") ?? "", blobName, cancellationToken).ConfigureAwait(false) ?? report.Key;

        var claim = new TableEntity(partition, "c_" + key)
        {
            ["Organization"] = first.GetString("Organization"),
            ["ReportId"] = first.GetString("ReportId"),
            ["Domains"] = report.Claim?.GetString("Domains") ?? string.Join(",", report.Rows.Select(r => r.PartitionKey)),
            ["Source"] = first.GetString("Source"),
            ["ReceivedAt"] = report.Claim?.GetDateTimeOffset("ReceivedAt") ?? first.GetDateTimeOffset("ReceivedAt"),
            ["BlobName"] = blobName,
            ["MovedFromKey"] = report.Key,
        };
        for (var attempt = 0; ; attempt++)
        {
            var actions = new List<TableTransactionAction> { new(TableTransactionActionType.Add, claim) };
            foreach (var row in report.Rows)
            {
                var moved = new TableEntity(partition, $"r_{row.PartitionKey}_{key}");
                foreach (var (name, value) in row)
                {
                    if (name is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag"))
                    {
                        moved[name] = value;
                    }
                }

                actions.Add(new TableTransactionAction(TableTransactionActionType.Add, moved));
                var totals = await _table.GetEntityIfExistsAsync<TableEntity>(partition, "t_" + row.PartitionKey, cancellationToken: cancellationToken).ConfigureAwait(false);
                var now = new TableEntity(partition, "t_" + row.PartitionKey)
                {
                    ["Successful"] = Add(totals.HasValue ? totals.Value!.GetInt64("Successful") ?? 0 : 0, row.GetInt64("SuccessfulSessions") ?? 0),
                    ["Failed"] = Add(totals.HasValue ? totals.Value!.GetInt64("Failed") ?? 0 : 0, row.GetInt64("FailedSessions") ?? 0),
                    ["Reports"] = (totals.HasValue ? totals.Value!.GetInt32("Reports") ?? 0 : 0) + 1,
                };
                actions.Add(totals.HasValue
                    ? new TableTransactionAction(TableTransactionActionType.UpdateReplace, now, totals.Value!.ETag)
                    : new TableTransactionAction(TableTransactionActionType.Add, now));
            }

            try
            {
                await _table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (TableTransactionFailedException e) when (e.FailedTransactionActionIndex == 0 && e.Status == 409)
            {
                // Moved before (by an earlier start or another instance), or stored anew under the same key.
                return false;
            }
            catch (TableTransactionFailedException) when (attempt < 10)
            {
                // The day's totals moved meanwhile (412) or were created (409): read them again.
            }
        }
    }

    /// <summary>Today's key of an old report: its digest comes from its blob; null when the blob is gone.</summary>
    private async Task<string?> NewKeyAsync(string organization, string reportId, string? blobName, CancellationToken cancellationToken)
    {
        if (blobName is null)
        {
            return null;
        }

        try
        {
            var content = await _container.GetBlobClient(blobName).DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await using var json = content.Value.Content;
            var digest = await SHA256.HashDataAsync(json, cancellationToken).ConfigureAwait(false);
            return ReceivedTlsReport.KeyOfDigest(organization, reportId, digest);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    private async Task DeleteAsync(OldReport report, CancellationToken cancellationToken)
    {
        foreach (var row in report.Rows.Append(report.Claim).OfType<TableEntity>())
        {
            await _table.DeleteEntityAsync(row.PartitionKey, row.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
        }
    }

    private static long Add(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

    private sealed class OldReport(string key)
    {
        public string Key { get; } = key;

        public TableEntity? Claim { get; set; }

        public List<TableEntity> Rows { get; } = [];
    }
}

internal static partial class Log
{
    [LoggerMessage(5020, LogLevel.Information, "Moved {Count} received TLS reports from the first ReceivedTlsReports layout into day partitions")]
    public static partial void Migrated(ILogger logger, int count);

    [LoggerMessage(5021, LogLevel.Error, "Could not move received TLS reports of the first ReceivedTlsReports layout; they are not shown until a later start moves them")]
    public static partial void MigrationFailed(ILogger logger, Exception exception);
}
