using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.Inbound;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Core.Storage;
using MtaFunctions.LocalHost;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Reporting.Inbound;

/// <summary>
/// Reports stored in the first layout of ReceivedTlsReports (rows per domain, claims in '!reports', keys without
/// a digest), written straight into Azurite as that code wrote them: a starting host moves them into the day
/// partitions once, the summary over HTTP shows them beside new reports, a re-sent copy is a duplicate, and
/// moving again (another start, or after a crash left the old rows) changes nothing.
/// </summary>
public sealed class ReceivedTlsReportLayoutMigrationTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>, IAsyncDisposable
{
    private const string Domain = "old.example";
    private const string SubDomain = "mx.old.example";
    private static readonly DateOnly Day = new(2026, 5, 1);

    private readonly List<IHost> _hosts = [];

    [Fact]
    public async Task HostStart_RowsOfTheFirstLayout_MovedOnceAndShownBesideNewOnes()
    {
        var table = storage.Tables.GetTableClient(StorageNames.ReceivedTlsReportsTable);
        await table.CreateIfNotExistsAsync(TestContext.Current.CancellationToken);
        await storage.Blobs.GetBlobContainerClient(StorageNames.ReceivedTlsReportContainer).CreateIfNotExistsAsync(cancellationToken: TestContext.Current.CancellationToken);
        var one = TlsRptReports.Sts("Old Org", "old-1", Domain, Day, 40, ("certificate-expired", "mx1.old.example", 2));
        var two = new TlsRptReport("Other Org", TlsRptDateRange.UtcDay(Day), "tlsrpt@other.example", "old-2", [TlsRptReports.Policy("sts", Domain, 7), TlsRptReports.Policy("sts", SubDomain, 5, ("validation-failure", "mx2.old.example", 1))]);
        var oldRows = new List<TableEntity>();
        oldRows.AddRange(await WriteOldLayoutAsync(table, one));
        oldRows.AddRange(await WriteOldLayoutAsync(table, two));

        var http = await StartHostAsync();
        var added = await TlsRptHostFixture.PostAsync(http, "/api/tlsrpt", TlsRptReports.Json(TlsRptReports.Sts("New Org", "new-1", Domain, Day, 100)), TlsRptMediaTypes.Json);
        var resent = await TlsRptHostFixture.PostAsync(http, "/api/tlsrpt", TlsRptHostFixture.Gzip(TlsRptReports.Json(one)), TlsRptMediaTypes.Gzip);

        Assert.Equal(202, added.Status);
        Assert.Equal(200, resent.Status);
        await AssertSummaryAsync(http);
        Assert.Empty(await OldLayoutRowsAsync(table));
        var store = _hosts[0].Services.GetRequiredService<ReceivedTlsReportStore>();
        Assert.Equal((147L, 2L, 3), await store.TotalsAsync(Domain, Day, TestContext.Current.CancellationToken));
        Assert.Equal(TlsRptReports.Json(one), (await store.ReadRawAsync(ReceivedTlsReport.KeyOf("Old Org", "old-1", TlsRptReports.Json(one)), Day, TestContext.Current.CancellationToken))!.ToArray());

        // A crash after the move but before the old rows were deleted: they are back, and so is the work.
        foreach (var row in oldRows)
        {
            await table.UpsertEntityAsync(row, TableUpdateMode.Replace, TestContext.Current.CancellationToken);
        }

        await table.DeleteEntityAsync("!layout", "day-partitions", cancellationToken: TestContext.Current.CancellationToken);
        var again = await StartHostAsync();

        await AssertSummaryAsync(again);
        Assert.Empty(await OldLayoutRowsAsync(table));
        Assert.Equal((147L, 2L, 3), await store.TotalsAsync(Domain, Day, TestContext.Current.CancellationToken));
        Assert.Equal((5L, 1L, 1), await store.TotalsAsync(SubDomain, Day, TestContext.Current.CancellationToken));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.StopAsync();
            host.Dispose();
        }
    }

    private static async Task AssertSummaryAsync(HttpClient http)
    {
        using var response = await http.GetAsync($"/api/tlsrpt/summary?domain={Domain}&from=2026-05-01&to=2026-05-01", TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Equal(200, (int)response.StatusCode);
        using var summary = JsonDocument.Parse(body);
        var totals = summary.RootElement.GetProperty("totals");
        Assert.Equal(3, totals.GetProperty("reports").GetInt32());
        Assert.Equal(147, totals.GetProperty("successful").GetInt64());
        Assert.Equal(2, totals.GetProperty("failed").GetInt64());
        Assert.Equal(
            ["New Org", "Old Org", "Other Org"],
            summary.RootElement.GetProperty("organizations").EnumerateArray().Select(o => o.GetProperty("organization").GetString()).Order(StringComparer.Ordinal));
        Assert.Equal(2, summary.RootElement.GetProperty("failuresByResultType").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "certificate-expired").GetProperty("count").GetInt64());
    }

    /// <summary>Writes a report as the first layout's store did: its blob, a row per policy domain, then its claim.</summary>
    private async Task<List<TableEntity>> WriteOldLayoutAsync(TableClient table, TlsRptReport report)
    {
        var json = TlsRptReports.Json(report);
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(report.OrganizationName.Trim().ToLowerInvariant() + "\n" + report.ReportId.Trim())))[..32];
        var blobName = $"{Day:yyyy/MM/dd}/{key}.json";
        await storage.Blobs.GetBlobContainerClient(StorageNames.ReceivedTlsReportContainer).UploadBlobAsync(blobName, BinaryData.FromBytes(json), TestContext.Current.CancellationToken);
        var rows = new List<TableEntity>();
        foreach (var group in report.Policies.GroupBy(p => p.Policy.PolicyDomain!))
        {
            var figures = ReceivedDomainReport.Of(group.Key, key, report, group.ToList());
            rows.Add(new TableEntity(group.Key, $"{Day:yyyyMMdd}_{key}")
            {
                ["Organization"] = report.OrganizationName,
                ["ReportId"] = report.ReportId,
                ["RangeStart"] = report.DateRange.Start,
                ["RangeEnd"] = report.DateRange.End,
                ["SuccessfulSessions"] = figures.SuccessfulSessions,
                ["FailedSessions"] = figures.FailedSessions,
                ["FailuresByResultType"] = JsonSerializer.Serialize(figures.FailuresByResultType),
                ["FailuresByMxHost"] = JsonSerializer.Serialize(figures.FailuresByMxHost),
                ["Policies"] = TlsRptReportSerializer.SerializePolicies(group),
                ["BlobName"] = blobName,
                ["Source"] = "https",
                ["ReceivedAt"] = DateTimeOffset.UtcNow,
                ["ContactInfo"] = report.ContactInfo,
            });
        }

        rows.Add(new TableEntity(ReceivedTlsReportLayoutMigration.OldClaimPartition, key)
        {
            ["Organization"] = report.OrganizationName,
            ["ReportId"] = report.ReportId,
            ["Domains"] = string.Join(",", rows.Select(r => r.PartitionKey)),
            ["BlobName"] = blobName,
            ["ReceivedAt"] = DateTimeOffset.UtcNow,
        });
        foreach (var row in rows)
        {
            await table.AddEntityAsync(row, TestContext.Current.CancellationToken);
        }

        return rows;
    }

    private static async Task<List<TableEntity>> OldLayoutRowsAsync(TableClient table)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in table.QueryAsync<TableEntity>(r => r.PartitionKey != "!layout", cancellationToken: TestContext.Current.CancellationToken))
        {
            if (row.PartitionKey == ReceivedTlsReportLayoutMigration.OldClaimPartition || !row.PartitionKey.All(char.IsAsciiDigit))
            {
                rows.Add(row);
            }
        }

        return rows;
    }

    private async Task<HttpClient> StartHostAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = storage.ConnectionString,
            [SettingKeys.TlsRptInboundDomains] = Domain,
            [SettingKeys.LocalHostHttpPort] = "0",
        };
        var host = LocalHostBuilder.Build([], Directory.CreateTempSubdirectory("localhost").FullName, c => c.AddInMemoryCollection(settings));
        await host.Services.GetRequiredService<StorageInitializer>().EnsureCreatedAsync(CancellationToken.None);
        await host.StartAsync(TestContext.Current.CancellationToken);
        _hosts.Add(host);
        return new HttpClient { BaseAddress = LocalHttpHost.BaseAddress(host) };
    }
}
