using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Reporting.Inbound;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Storage;

/// <summary>
/// Received TLS reports: table <c>ReceivedTlsReports</c>, one partition per UTC day, and container
/// <c>tlsrpt-received</c> for reports too large to keep in their claim row.
/// </summary>
/// <remarks>
/// <para>Rows of a day partition (<c>yyyyMMdd</c>, the day a report's range starts on):
/// <c>c_&lt;key&gt;</c> the claim of a report (who, when, and its JSON when small, else the blob's name);
/// <c>r_&lt;domain&gt;_&lt;key&gt;</c> the report's figures for one policy domain (what the summary reads);
/// <c>t_&lt;domain&gt;</c> the domain's running totals of the day (what the failure-rate check reads).
/// Host names hold no '_', so the prefixes never meet.</para>
/// <para>All rows of a report are in one partition, so they are written in one entity-group transaction:
/// all or nothing, with the claim's insert refusing a report stored before and the totals' ETags ordering
/// concurrent writers. Reports of the same day waiting on this instance go in one transaction together
/// (group commit, up to 100 entities), so a burst costs a round trip per batch, not per report. A report too
/// large for its claim row has its blob written first, under its key: a crash between the two leaves a blob
/// that the reporter's retry overwrites with the same bytes and then claims.</para>
/// </remarks>
public sealed class ReceivedTlsReportStore(TableServiceClient tables, BlobServiceClient blobs) : IReceivedTlsReportStore
{
    /// <summary>Largest report JSON kept in its claim row instead of a blob (a binary property holds 64 KiB).</summary>
    public const int MaxInlineBytes = ReceivedReportJson.MaxHeldBytes;

    /// <summary>Longest JSON kept in one table property (Azure Tables: 64 KiB per string property, UTF-16).</summary>
    public const int MaxPropertyChars = 30_000;

    /// <summary>Entities in one transaction (Azure Tables: 100).</summary>
    private const int MaxBatchEntities = 100;

    /// <summary>Payload of one transaction, kept well under Azure Tables' 4 MiB.</summary>
    private const long MaxBatchBytes = 3 * 1024 * 1024;

    private readonly TableClient _table = tables.GetTableClient(StorageNames.ReceivedTlsReportsTable);
    private readonly BlobContainerClient _container = blobs.GetBlobContainerClient(StorageNames.ReceivedTlsReportContainer);
    private readonly Dictionary<string, DayWriter> _days = new(StringComparer.Ordinal);

    /// <summary>Creates the table and the container when missing.</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<ReceivedTlsReportWrite> AddAsync(ReceivedTlsReport report, CancellationToken cancellationToken)
    {
        var partition = Partition(report.Day);
        string? blobName = null;
        if (report.Raw.Bytes is null)
        {
            // The JSON is inflated again as it is written, a chunk at a time: a large report is never held whole.
            blobName = BlobName(report);
            await using var json = report.Raw.Open();
            await _container.GetBlobClient(blobName).UploadAsync(
                json,
                new BlobUploadOptions
                {
                    TransferOptions = new StorageTransferOptions
                    {
                        InitialTransferSize = ReportBodyDecoder.UploadChunkBytes,
                        MaximumTransferSize = ReportBodyDecoder.UploadChunkBytes,
                        MaximumConcurrency = 1,
                    },
                    HttpHeaders = new BlobHttpHeaders { ContentType = TlsRptMediaTypes.Json },
                    Metadata = new Dictionary<string, string> { ["source"] = report.Source, ["receivedat"] = report.ReceivedAt.ToString("o", CultureInfo.InvariantCulture) },
                },
                cancellationToken).ConfigureAwait(false);
        }

        var pending = new PendingReport(report, Claim(report, partition, blobName), report.Domains.Select(d => ToEntity(d, report, partition)).ToList());
        DayWriter day;
        lock (_days)
        {
            if (!_days.TryGetValue(partition, out day!))
            {
                day = new DayWriter(this, partition);
                _days[partition] = day;
            }
        }

        return await day.AddAsync(pending, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ReceivedDomainReport> QueryAsync(string? domain, DateOnly from, DateOnly to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var low = Partition(from);
        var high = Partition(to.AddDays(1));
        var first = domain is null ? "r_" : $"r_{domain}_";
        var last = domain is null ? "r`" : $"r_{domain}`";
        var filter = TableClient.CreateQueryFilter($"PartitionKey ge {low} and PartitionKey lt {high} and RowKey ge {first} and RowKey lt {last}");
        await foreach (var entity in _table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return FromEntity(entity);
        }
    }

    /// <summary>The running totals of a domain's day (successful, failed, reports); zeros when none arrived.</summary>
    public async Task<(long Successful, long Failed, int Reports)> TotalsAsync(string domain, DateOnly day, CancellationToken cancellationToken)
    {
        var row = await _table.GetEntityIfExistsAsync<TableEntity>(Partition(day), "t_" + domain, cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue
            ? (row.Value!.GetInt64("Successful") ?? 0, row.Value.GetInt64("Failed") ?? 0, row.Value.GetInt32("Reports") ?? 0)
            : (0, 0, 0);
    }

    /// <summary>The raw JSON of a stored report, for audit; null when no such report is stored.</summary>
    public async Task<BinaryData?> ReadRawAsync(string reportKey, DateOnly day, CancellationToken cancellationToken)
    {
        var claim = await _table.GetEntityIfExistsAsync<TableEntity>(Partition(day), "c_" + reportKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!claim.HasValue)
        {
            return null;
        }

        if (claim.Value!.GetBinaryData("Raw") is { } inline)
        {
            return inline;
        }

        var content = await _container.GetBlobClient(claim.Value.GetString("BlobName")).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
        return content.Value.Content;
    }

    private static string Partition(DateOnly day) => day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    private static string BlobName(ReceivedTlsReport report) => $"{report.Day:yyyy/MM/dd}/{report.Key}.json";

    private static TableEntity Claim(ReceivedTlsReport report, string partition, string? blobName)
    {
        var claim = new TableEntity(partition, "c_" + report.Key)
        {
            ["Organization"] = report.Report.OrganizationName,
            ["ReportId"] = report.Report.ReportId,
            ["Domains"] = string.Join(",", report.Domains.Select(d => d.Domain)),
            ["Source"] = report.Source,
            ["ReceivedAt"] = report.ReceivedAt,
        };
        if (blobName is null)
        {
            claim["Raw"] = report.Raw.Bytes!.Value.ToArray();
        }
        else
        {
            claim["BlobName"] = blobName;
        }

        return claim;
    }

    private static TableEntity ToEntity(ReceivedDomainReport row, ReceivedTlsReport report, string partition)
    {
        // The policies are copied only from a small report: a large one would be serialised only to be dropped.
        var policies = report.Raw.Length <= MaxPropertyChars ? Bounded(TlsRptReportSerializer.SerializePolicies(row.Policies)) : null;
        return new TableEntity(partition, $"r_{row.Domain}_{row.ReportKey}")
        {
            // Read by the summary: who reported, over which range.
            ["Organization"] = row.OrganizationName,
            ["ReportId"] = row.ReportId,
            ["RangeStart"] = row.RangeStart,
            ["RangeEnd"] = row.RangeEnd,

            // Read by the summary: this domain's totals in this report.
            ["SuccessfulSessions"] = row.SuccessfulSessions,
            ["FailedSessions"] = row.FailedSessions,

            // Read by the summary: failures per result type and per MX host (TlsRptLimits keeps both small).
            ["FailuresByResultType"] = JsonSerializer.Serialize(row.FailuresByResultType),
            ["FailuresByMxHost"] = Bounded(JsonSerializer.Serialize(row.FailuresByMxHost)),

            // Read by operators: the policies with their failure details; the claim or blob has them when too large.
            ["Policies"] = policies,
            ["Source"] = report.Source,
            ["ReceivedAt"] = report.ReceivedAt,
            ["ContactInfo"] = report.Report.ContactInfo,
        };
    }

    private static string? Bounded(string json) => json.Length <= MaxPropertyChars ? json : null;

    private static ReceivedDomainReport FromEntity(TableEntity entity)
    {
        var rest = entity.RowKey[2..];
        var cut = rest.LastIndexOf('_');
        return new ReceivedDomainReport(
            rest[..cut],
            DateOnly.ParseExact(entity.PartitionKey, "yyyyMMdd", CultureInfo.InvariantCulture),
            rest[(cut + 1)..],
            entity.GetString("Organization") ?? "",
            entity.GetString("ReportId") ?? "",
            entity.GetDateTimeOffset("RangeStart") ?? default,
            entity.GetDateTimeOffset("RangeEnd") ?? default,
            entity.GetInt64("SuccessfulSessions") ?? 0,
            entity.GetInt64("FailedSessions") ?? 0,
            Counts(entity.GetString("FailuresByResultType")),
            Counts(entity.GetString("FailuresByMxHost")),
            []);
    }

    private static Dictionary<string, long> Counts(string? json) =>
        json is null ? [] : JsonSerializer.Deserialize<Dictionary<string, long>>(json) ?? [];

    /// <summary>A report waiting for its day's transaction.</summary>
    private sealed class PendingReport(ReceivedTlsReport report, TableEntity claim, List<TableEntity> rows)
    {
        public ReceivedTlsReport Report { get; } = report;

        public TableEntity Claim { get; } = claim;

        public List<TableEntity> Rows { get; } = rows;

        public TaskCompletionSource<ReceivedTlsReportWrite> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long Bytes { get; } = (report.Raw.Bytes?.Length ?? 0) * 2L + (rows.Count + 1) * 2048L
            + rows.Sum(r => (r.GetString("Policies")?.Length ?? 0) + (r.GetString("FailuresByMxHost")?.Length ?? 0)) * 2L;
    }

    /// <summary>A domain's running totals of the day as last read or written, with the row's ETag (null: no row yet).</summary>
    private sealed record Totals(long Successful, long Failed, int Reports, ETag? ETag);

    /// <summary>The writer of one day partition: queues reports and commits them in batches, one batch at a time.</summary>
    private sealed class DayWriter(ReceivedTlsReportStore store, string partition)
    {
        private readonly Queue<PendingReport> _queue = new();
        private readonly Dictionary<string, Totals> _totals = new(StringComparer.Ordinal);
        private bool _running;

        public async Task<ReceivedTlsReportWrite> AddAsync(PendingReport pending, CancellationToken cancellationToken)
        {
            bool run;
            lock (_queue)
            {
                _queue.Enqueue(pending);
                run = !_running;
                _running = true;
            }

            if (run)
            {
                // One committer per day partition at a time; it runs apart from any request, so no caller waits
                // on other reporters' batches, and it stops when the queue is empty.
                _ = Task.Run(RunAsync, CancellationToken.None);
            }

            return await pending.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        private async Task RunAsync()
        {
            while (true)
            {
                var batch = new List<PendingReport>();
                lock (_queue)
                {
                    var domains = new HashSet<string>(StringComparer.Ordinal);
                    long entities = 0, bytes = 0;
                    while (_queue.TryPeek(out var next))
                    {
                        var newDomains = next.Report.Domains.Count(d => !domains.Contains(d.Domain));
                        var more = 1 + next.Rows.Count + newDomains;
                        if (batch.Count > 0 && (entities + more > MaxBatchEntities || bytes + next.Bytes > MaxBatchBytes))
                        {
                            break;
                        }

                        _queue.Dequeue();
                        batch.Add(next);
                        entities += more;
                        bytes += next.Bytes;
                        domains.UnionWith(next.Report.Domains.Select(d => d.Domain));
                    }

                    if (batch.Count == 0)
                    {
                        _running = false;
                        return;
                    }
                }

                try
                {
                    await CommitAsync(batch).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    // Whatever went wrong, every waiting report is answered (500) instead of waiting for ever.
                    _totals.Clear();
                    foreach (var p in batch)
                    {
                        p.Done.TrySetException(e);
                    }
                }
            }
        }

        private async Task CommitAsync(List<PendingReport> batch)
        {
            for (var attempt = 0; batch.Count > 0; attempt++)
            {
                // The same report twice in one batch: the first is written, the others answer as it did.
                var firsts = batch.GroupBy(p => p.Report.Key, StringComparer.Ordinal).Select(g => g.First()).ToList();
                var followers = batch.Except(firsts).ToList();
                await LoadTotalsAsync(firsts.SelectMany(p => p.Report.Domains).Select(d => d.Domain).Distinct(StringComparer.Ordinal)).ConfigureAwait(false);

                var actions = new List<TableTransactionAction>();
                var owners = new List<(PendingReport? Report, string? Domain)>();
                var after = new Dictionary<string, Totals>(StringComparer.Ordinal);
                var changes = new Dictionary<PendingReport, List<DomainDayChange>>();
                foreach (var p in firsts)
                {
                    actions.Add(new TableTransactionAction(TableTransactionActionType.Add, p.Claim));
                    owners.Add((p, null));
                    foreach (var row in p.Rows)
                    {
                        actions.Add(new TableTransactionAction(TableTransactionActionType.Add, row));
                        owners.Add((p, null));
                    }

                    var list = new List<DomainDayChange>();
                    foreach (var d in p.Report.Domains)
                    {
                        var before = after.GetValueOrDefault(d.Domain) ?? _totals[d.Domain];

                        // Saturating: totals serve a warning and must never stop intake.
                        var now = before with
                        {
                            Successful = Add(before.Successful, d.SuccessfulSessions),
                            Failed = Add(before.Failed, d.FailedSessions),
                            Reports = before.Reports == int.MaxValue ? int.MaxValue : before.Reports + 1,
                        };
                        after[d.Domain] = now;
                        list.Add(new DomainDayChange(d.Domain, d.Day, before.Failed, Add(before.Successful, before.Failed), now.Failed, Add(now.Successful, now.Failed)));
                    }

                    changes[p] = list;
                }

                foreach (var (domain, totals) in after)
                {
                    var entity = new TableEntity(partition, "t_" + domain)
                    {
                        ["Successful"] = totals.Successful,
                        ["Failed"] = totals.Failed,
                        ["Reports"] = totals.Reports,
                    };
                    if (_totals[domain].ETag is { } etag)
                    {
                        entity.ETag = etag;
                        actions.Add(new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, etag));
                    }
                    else
                    {
                        actions.Add(new TableTransactionAction(TableTransactionActionType.Add, entity));
                    }

                    owners.Add((null, domain));
                }

                try
                {
                    var response = await store._table.SubmitTransactionAsync(actions, CancellationToken.None).ConfigureAwait(false);
                    var results = response.Value;
                    for (var i = 0; i < owners.Count; i++)
                    {
                        if (owners[i].Domain is { } domain)
                        {
                            var etag = i < results.Count ? results[i].Headers.ETag : null;
                            if (etag is null)
                            {
                                _totals.Remove(domain);
                            }
                            else
                            {
                                _totals[domain] = after[domain] with { ETag = etag };
                            }
                        }
                    }

                    foreach (var p in firsts)
                    {
                        p.Done.TrySetResult(new ReceivedTlsReportWrite(true, changes[p]));
                    }

                    foreach (var p in followers)
                    {
                        p.Done.TrySetResult(new ReceivedTlsReportWrite(false, []));
                    }

                    return;
                }
                catch (TableTransactionFailedException e) when (attempt < 20)
                {
                    var failed = e.FailedTransactionActionIndex is { } index && index < owners.Count ? owners[index] : default;
                    if (failed.Domain is { } domain)
                    {
                        // Another instance moved the totals (412) or created them (409): read them again.
                        _totals.Remove(domain);
                    }
                    else if (failed.Report is { } report && e.Status == 409)
                    {
                        // The claim exists: the report was stored before. Nothing of it is written.
                        foreach (var p in batch.Where(p => p.Report.Key == report.Report.Key))
                        {
                            p.Done.TrySetResult(new ReceivedTlsReportWrite(false, []));
                        }

                        batch.RemoveAll(p => p.Report.Key == report.Report.Key);
                    }
                    else if (batch.Count > 1)
                    {
                        // The failing entity is not named: commit the reports one by one to find it.
                        _totals.Clear();
                        foreach (var p in batch)
                        {
                            await CommitAsync([p]).ConfigureAwait(false);
                        }

                        return;
                    }
                    else if (await store._table.GetEntityIfExistsAsync<TableEntity>(partition, batch[0].Claim.RowKey, ["PartitionKey"]).ConfigureAwait(false) is { HasValue: true })
                    {
                        batch[0].Done.TrySetResult(new ReceivedTlsReportWrite(false, []));
                        return;
                    }
                    else
                    {
                        _totals.Clear();
                    }
                }
            }
        }

        private async Task LoadTotalsAsync(IEnumerable<string> domains)
        {
            var missing = domains.Where(d => !_totals.ContainsKey(d)).ToList();
            var read = await Task.WhenAll(missing.Select(async d =>
            {
                var row = await store._table.GetEntityIfExistsAsync<TableEntity>(partition, "t_" + d).ConfigureAwait(false);
                return (Domain: d, Totals: row.HasValue
                    ? new Totals(row.Value!.GetInt64("Successful") ?? 0, row.Value.GetInt64("Failed") ?? 0, row.Value.GetInt32("Reports") ?? 0, row.Value.ETag)
                    : new Totals(0, 0, 0, null));
            })).ConfigureAwait(false);
            foreach (var (domain, totals) in read)
            {
                _totals[domain] = totals;
            }
        }

        private static long Add(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
    }
}
