using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.Inbound;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Core.Storage;
using MtaFunctions.Tests.Infrastructure;
using MtaFunctions.Tests.Reporting.Inbound;

namespace MtaFunctions.Benchmarks;

/// <summary>
/// Issue 12's memory figure: what one large report costs while it is taken in. 16 reports of 16 MiB of JSON each
/// (some 16 KB of gzip) are POSTed at once to a LocalHost child process whose decode budget lets all of them in
/// together; prints the host's resident memory before and at its peak, and per report. In this process, the
/// bytes allocated per large report taken in one at a time, against the 16 MiB of JSON it holds.
/// Set TLSRPT_BENCH_LOCALHOST_DLL to a LocalHost build of another commit to measure it ("before").
/// </summary>
public static class TlsRptMemoryBenchmark
{
    private const int Reports = 16;
    private const int JsonBytes = 16 * 1024 * 1024;

    public static async Task RunAsync()
    {
        var dll = Environment.GetEnvironmentVariable("TLSRPT_BENCH_LOCALHOST_DLL");
        Console.WriteLine($"host: {dll ?? "this build's LocalHost"}");
        foreach (var shape in new[] { "whitespace", "policy strings" })
        {
            await using var storage = new AzuriteFixture();
            await storage.InitializeAsync();
            await using var host = await LocalHostProcess.StartAsync(
                new Dictionary<string, string>
                {
                    ["AzureWebJobsStorage"] = storage.ConnectionString,
                    ["Report__Tls__Inbound__Domains"] = "memory.test",
                    ["Report__Tls__Inbound__DecodeMemory"] = "2000000000",
                },
                dll);
            using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
            var warm = await TlsRptHostFixture.PostAsync(http, "/api/tlsrpt", TlsRptHostFixture.Gzip(Report(-1, 1024, shape)), TlsRptMediaTypes.Gzip);
            var baseline = host.PeakResidentBytes;
            var bodies = Enumerable.Range(0, Reports).Select(i => TlsRptHostFixture.Gzip(Report(i, JsonBytes, shape))).ToList();

            var results = await Task.WhenAll(bodies.Select(body => TlsRptHostFixture.PostAsync(http, "/api/tlsrpt", body, TlsRptMediaTypes.Gzip)));

            var peak = host.PeakResidentBytes;
            Console.WriteLine(
                $"{shape,-14}: {Reports} reports of {JsonBytes / 1048576} MiB JSON ({bodies[0].Length / 1024} KiB gzip) at once: statuses " +
                $"{string.Join(" ", results.GroupBy(r => r.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}x{g.Count()}"))} (warm-up {warm.Status}); " +
                $"host resident {baseline / 1048576} MiB before, peak {peak / 1048576} MiB, " +
                $"{(peak - baseline) / Reports / 1048576.0:F1} MiB per report in flight");
        }

        if (dll is null)
        {
            await AllocatedPerReportAsync();
        }
    }

    /// <summary>Bytes allocated in this process per large report taken in (parse and store), one at a time.</summary>
    private static async Task AllocatedPerReportAsync()
    {
        await using var storage = new AzuriteFixture();
        await storage.InitializeAsync();
        var account = StorageAccount.FromConnectionString(storage.ConnectionString);
        var store = new ReceivedTlsReportStore(account.Tables, account.Blobs);
        await store.EnsureCreatedAsync(CancellationToken.None);
        var settings = TlsRptInboundSettings.Default with { Domains = ["memory.test"] };
        var intake = new TlsReportIntake(settings, store, new FailureRateMonitor(settings, NullLogger<FailureRateMonitor>.Instance), new DecodeMemoryBudget(settings.DecodeMemory), TimeProvider.System, NullLogger<TlsReportIntake>.Instance);
        var bodies = Enumerable.Range(100, 4).Select(i => TlsRptHostFixture.Gzip(Report(i, JsonBytes, "policy strings"))).ToList();
        await intake.ReceiveHttpAsync(new MemoryStream(TlsRptHostFixture.Gzip(Report(99, JsonBytes, "policy strings"))), TlsRptMediaTypes.Gzip, null, null, CancellationToken.None);

        var before = GC.GetTotalAllocatedBytes(precise: true);
        foreach (var body in bodies)
        {
            var outcome = await intake.ReceiveHttpAsync(new MemoryStream(body), TlsRptMediaTypes.Gzip, body.Length, null, CancellationToken.None);
            if (outcome.Status != TlsReportIntakeStatus.Stored)
            {
                throw new InvalidOperationException(outcome.Message);
            }
        }

        var perReport = (GC.GetTotalAllocatedBytes(precise: true) - before) / bodies.Count;
        Console.WriteLine($"allocated per {JsonBytes / 1048576} MiB report taken in (in process, storage SDK included): {perReport / 1048576.0:F2} MiB ({perReport / (double)JsonBytes:F3} per byte of JSON)");
    }

    /// <summary>
    /// A valid report of about <paramref name="size"/> bytes of JSON: whitespace between its fields (as a
    /// pretty-printer leaves), or policies with as many policy strings and MX patterns as the limits allow.
    /// </summary>
    private static byte[] Report(int i, int size, string shape)
    {
        var json = new StringBuilder();
        json.Append(CultureInfo.InvariantCulture, $$$"""{"organization-name":"Memory Org","date-range":{"start-datetime":"2026-02-02T00:00:00Z","end-datetime":"2026-02-02T23:59:59Z"},"contact-info":"tlsrpt@memory.test","report-id":"large-{{{i}}}",""");
        if (shape == "whitespace")
        {
            json.Append(' ', size);
            json.Append(CultureInfo.InvariantCulture, $$$"""
                "policies":[{"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce"],"policy-domain":"memory.test","mx-host":["*.memory.test"]},"summary":{"total-successful-session-count":{{{i + 2}}},"total-failure-session-count":0}}]}
                """);
            return Encoding.UTF8.GetBytes(json.ToString());
        }

        json.Append("\"policies\":[");
        var text = new string('p', 1000);
        for (var p = 0; json.Length < size && p < TlsRptLimits.MaxPolicies; p++)
        {
            var strings = string.Join(",", Enumerable.Range(0, TlsRptLimits.MaxStrings).Select(n => $"\"mx: {n}.{p}.{i}.{text}\""));
            json.Append(CultureInfo.InvariantCulture, $$$"""{{{(p == 0 ? "" : ",")}}}{"policy":{"policy-type":"sts","policy-string":[{{{strings}}}],"policy-domain":"memory.test","mx-host":[{{{strings}}}]},"summary":{"total-successful-session-count":{{{i + 2}}},"total-failure-session-count":0}}""");
        }

        json.Append("]}");
        return Encoding.UTF8.GetBytes(json.ToString());
    }
}
