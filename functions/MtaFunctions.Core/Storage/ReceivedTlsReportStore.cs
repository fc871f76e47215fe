using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Reporting.Inbound;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Storage;

/// <summary>
/// Received TLS reports: table <c>ReceivedTlsReports</c> (one row per report and policy domain, plus one claim row
/// per report key) and container <c>tlsrpt-received</c> (each report's JSON as it arrived).
/// </summary>
/// <remarks>
/// Rows: PartitionKey = policy domain, RowKey = <c>yyyyMMdd_&lt;report key&gt;</c> (the report's start day), so a
/// period of a domain is one range query. Claims: PartitionKey = <see cref="ClaimPartition"/>, RowKey = report key;
/// added last, so a crash before it leaves rows that a retry rewrites identically.
/// </remarks>
public sealed class ReceivedTlsReportStore(TableServiceClient tables, BlobServiceClient blobs) : IReceivedTlsReportStore
{
    /// <summary>Partition of the claim rows; '!' cannot start a domain, so it never meets a policy domain.</summary>
    public const string ClaimPartition = "!reports";

    /// <summary>Longest JSON kept in one table property (Azure Tables: 64 KiB per string property, UTF-16).</summary>
    private const int MaxPropertyChars = 30_000;

    private readonly TableClient _table = tables.GetTableClient(StorageNames.ReceivedTlsReportsTable);
    private readonly BlobContainerClient _container = blobs.GetBlobContainerClient(StorageNames.ReceivedTlsReportContainer);

    /// <summary>Creates the table and the container when missing.</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> ContainsAsync(string reportKey, CancellationToken cancellationToken)
    {
        var claim = await _table.GetEntityIfExistsAsync<TableEntity>(ClaimPartition, reportKey, ["PartitionKey"], cancellationToken).ConfigureAwait(false);
        return claim.HasValue;
    }

    /// <inheritdoc />
    public async Task<bool> AddAsync(ReceivedTlsReport report, CancellationToken cancellationToken)
    {
        var blobName = BlobName(report);
        await _container.GetBlobClient(blobName).UploadAsync(
            BinaryData.FromBytes(report.Raw),
            new BlobUploadOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = TlsRptMediaTypes.Json },
                Metadata = new Dictionary<string, string> { ["source"] = report.Source, ["receivedat"] = report.ReceivedAt.ToString("o", CultureInfo.InvariantCulture) },
            },
            cancellationToken).ConfigureAwait(false);

        foreach (var domain in report.Domains)
        {
            await _table.UpsertEntityAsync(ToEntity(domain, report, blobName), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var claim = new TableEntity(ClaimPartition, report.Key)
            {
                ["Organization"] = report.Report.OrganizationName,
                ["ReportId"] = report.Report.ReportId,
                ["Domains"] = string.Join(",", report.Domains.Select(d => d.Domain)),
                ["BlobName"] = blobName,
                ["ReceivedAt"] = report.ReceivedAt,
            };
            await _table.AddEntityAsync(claim, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ReceivedDomainReport> QueryAsync(string? domain, DateOnly from, DateOnly to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var low = from.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        var high = to.AddDays(1).ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        var filter = domain is null
            ? TableClient.CreateQueryFilter($"PartitionKey ne {ClaimPartition} and RowKey ge {low} and RowKey lt {high}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {domain} and RowKey ge {low} and RowKey lt {high}");
        await foreach (var entity in _table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return FromEntity(entity);
        }
    }

    /// <summary>The raw JSON of a stored report, for audit.</summary>
    public async Task<BinaryData?> ReadRawAsync(string reportKey, CancellationToken cancellationToken)
    {
        var claim = await _table.GetEntityIfExistsAsync<TableEntity>(ClaimPartition, reportKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!claim.HasValue || claim.Value!.GetString("BlobName") is not { } name)
        {
            return null;
        }

        var content = await _container.GetBlobClient(name).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
        return content.Value.Content;
    }

    private static string BlobName(ReceivedTlsReport report) =>
        $"{report.Report.DateRange.Start.UtcDateTime:yyyy/MM/dd}/{report.Key}.json";

    private static TableEntity ToEntity(ReceivedDomainReport row, ReceivedTlsReport report, string blobName)
    {
        var policies = TlsRptReportSerializer.SerializePolicies(row.Policies);
        return new TableEntity(row.Domain, $"{row.Day:yyyyMMdd}_{row.ReportKey}")
        {
            // Read by the summary: who reported, over which range.
            ["Organization"] = row.OrganizationName,
            ["ReportId"] = row.ReportId,
            ["RangeStart"] = row.RangeStart,
            ["RangeEnd"] = row.RangeEnd,

            // Read by the summary and the failure-rate check: this domain's totals in this report.
            ["SuccessfulSessions"] = row.SuccessfulSessions,
            ["FailedSessions"] = row.FailedSessions,

            // Read by the summary: failures per result type and per MX host.
            ["FailuresByResultType"] = JsonSerializer.Serialize(row.FailuresByResultType),
            ["FailuresByMxHost"] = Bounded(JsonSerializer.Serialize(row.FailuresByMxHost)),

            // Read by operators: the policies with their failure details; the blob has them when too large.
            ["Policies"] = Bounded(policies),
            ["BlobName"] = blobName,
            ["Source"] = report.Source,
            ["ReceivedAt"] = report.ReceivedAt,
            ["ContactInfo"] = report.Report.ContactInfo,
        };
    }

    private static string? Bounded(string json) => json.Length <= MaxPropertyChars ? json : null;

    private static ReceivedDomainReport FromEntity(TableEntity entity)
    {
        var key = entity.RowKey[(entity.RowKey.IndexOf('_', StringComparison.Ordinal) + 1)..];
        var day = DateOnly.ParseExact(entity.RowKey[..8], "yyyyMMdd", CultureInfo.InvariantCulture);
        return new ReceivedDomainReport(
            entity.PartitionKey,
            day,
            key,
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
}
