using System.Globalization;
using System.Text;
using Azure.Data.Tables;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Reporting.Inbound;

/// <summary>
/// Many large valid reports at once against a LocalHost child process whose heap is capped: every request is
/// answered (no 500, no out-of-memory), the process lives on, and storage holds each report whole or not at all.
/// </summary>
public sealed class TlsRptMemoryTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const int Reports = 24;

    /// <summary>About 16 MB of JSON each (whitespace between the tokens), some 16 KB of gzip: under every default limit.</summary>
    private const int Padding = 16 * 1024 * 1024;

    [Fact]
    public async Task PostReport_ManyLargeReportsAtOnceUnderAHeapLimit_AllAnsweredAndNothingPartialStored()
    {
        await using var host = await LocalHostProcess.StartAsync(new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = storage.ConnectionString,
            ["DOTNET_GCHeapHardLimit"] = "0x20000000", // 512 MiB
            [SettingKeys.TlsRptInboundDomains.Replace(":", "__", StringComparison.Ordinal)] = "memory.example",
        });
        using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
        var bodies = Enumerable.Range(0, Reports).Select(i => TlsRptHostFixture.Gzip(LargeReport(i))).ToList();

        var results = await Task.WhenAll(bodies.Select(body => TlsRptHostFixture.PostAsync(http, "/api/tlsrpt", body, TlsRptMediaTypes.Gzip)));

        var peak = host.PeakResidentBytes;
        TestContext.Current.SendDiagnosticMessage($"peak resident memory of the LocalHost: {peak / 1048576} MiB");
        Assert.True(host.IsRunning, host.Output);
        Assert.All(results, r => Assert.True(r.Status == 202, $"{r.Status} {r.Body}"));

        // Whole or nothing: each claim with its figures row and its blob, and no blob without a claim.
        var table = storage.Tables.GetTableClient(StorageNames.ReceivedTlsReportsTable);
        var rows = new List<TableEntity>();
        await foreach (var row in table.QueryAsync<TableEntity>(cancellationToken: TestContext.Current.CancellationToken))
        {
            rows.Add(row);
        }

        var claims = rows.Where(r => r.RowKey.StartsWith("c_", StringComparison.Ordinal)).ToList();
        var blobs = new List<string>();
        await foreach (var blob in storage.Blobs.GetBlobContainerClient(StorageNames.ReceivedTlsReportContainer).GetBlobsAsync(cancellationToken: TestContext.Current.CancellationToken))
        {
            blobs.Add(blob.Name);
        }

        Assert.Equal(Reports, claims.Count);
        Assert.Equal(Reports, rows.Count(r => r.RowKey.StartsWith("r_memory.example_", StringComparison.Ordinal)));
        Assert.Equal(claims.Select(c => c.GetString("BlobName")).Order(StringComparer.Ordinal), blobs.Order(StringComparer.Ordinal));
        var totals = Assert.Single(rows, r => r.RowKey == "t_memory.example");
        Assert.Equal(Reports, totals.GetInt32("Reports"));
    }

    private static byte[] LargeReport(int i)
    {
        var json = new StringBuilder();
        json.Append(CultureInfo.InvariantCulture, $$$"""{"organization-name":"Memory Org","date-range":{"start-datetime":"2026-02-02T00:00:00Z","end-datetime":"2026-02-02T23:59:59Z"},"contact-info":"tlsrpt@memory.example","report-id":"large-{{{i}}}",""");
        json.Append(' ', Padding);
        json.Append(CultureInfo.InvariantCulture, $$$"""
            "policies":[{"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce"],"policy-domain":"memory.example","mx-host":["*.memory.example"]},"summary":{"total-successful-session-count":{{{i + 1}}},"total-failure-session-count":0}}]}
            """);
        return Encoding.UTF8.GetBytes(json.ToString());
    }
}
