using System.Diagnostics;
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
/// Issue 12's figures: 3,000 distinct valid gzip reports POSTed at parallelism 16 to a LocalHost child process
/// on Azurite, once spread over 30 domains and once all for one domain and day (the case that used to re-read
/// the day per report). Prints reports/s, p50/p99, the host's peak resident memory, and, in process, storage
/// requests per new report sent one at a time (the sequential round trips) and 16 at a time.
/// Set TLSRPT_BENCH_LOCALHOST_DLL to a LocalHost build of another commit to measure it ("before").
/// </summary>
public static class TlsRptIntakeBenchmark
{
    private const int Reports = 3_000;
    private const int Parallelism = 16;

    public static async Task RunAsync()
    {
        var dll = Environment.GetEnvironmentVariable("TLSRPT_BENCH_LOCALHOST_DLL");
        Console.WriteLine($"host: {dll ?? "this build's LocalHost"}");
        foreach (var (name, domains) in new[] { ("30 domains", 30), ("one domain-day", 1) })
        {
            await using var storage = new AzuriteFixture();
            await storage.InitializeAsync();
            await using var host = await LocalHostProcess.StartAsync(
                new Dictionary<string, string>
                {
                    ["AzureWebJobsStorage"] = storage.ConnectionString,
                    ["Report__Tls__Inbound__Domains"] = "bench.test",
                },
                dll);
            using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
            var bodies = Enumerable.Range(0, Reports).Select(i => TlsRptHostFixture.Gzip(Report(i, domains))).ToArray();
            await PostAllAsync(http, bodies.Take(50).Select((b, i) => TlsRptHostFixture.Gzip(Report(Reports + i, domains))).ToArray());

            var hostCpu = host.CpuTime;
            var azuriteCpu = storage.CpuTime;
            var benchCpu = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            var (latencies, statuses) = await PostAllAsync(http, bodies);
            clock.Stop();
            hostCpu = host.CpuTime - hostCpu;
            azuriteCpu = storage.CpuTime - azuriteCpu;
            benchCpu = Process.GetCurrentProcess().TotalProcessorTime - benchCpu;
            Array.Sort(latencies);
            Console.WriteLine(
                $"{name,-15} {Reports} reports, parallelism {Parallelism}: {Reports / clock.Elapsed.TotalSeconds,7:F0} reports/s, " +
                $"p50 {latencies[latencies.Length / 2],6:F1} ms, p99 {latencies[(int)(latencies.Length * 0.99)],6:F1} ms, " +
                $"statuses {string.Join(" ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}x{s.Value}"))}, " +
                $"peak host memory {host.PeakResidentBytes / 1048576} MiB; CPU per report: host {hostCpu.TotalMilliseconds / Reports:F2} ms " +
                $"({hostCpu / clock.Elapsed * 100:F0}% of a core), Azurite {azuriteCpu.TotalMilliseconds / Reports:F2} ms ({azuriteCpu / clock.Elapsed * 100:F0}%), " +
                $"client {benchCpu.TotalMilliseconds / Reports:F2} ms ({benchCpu / clock.Elapsed * 100:F0}%); load {File.ReadAllText("/proc/loadavg").Trim()}");
        }

        if (dll is null)
        {
            await RoundTripsAsync();
        }
    }

    /// <summary>Storage requests per new report, through the intake in this process with a counting pipeline.</summary>
    private static async Task RoundTripsAsync()
    {
        await using var storage = new AzuriteFixture();
        await storage.InitializeAsync();
        var counting = new CountingPolicy();
        var account = StorageAccount.FromConnectionString(storage.ConnectionString, counting);
        var store = new ReceivedTlsReportStore(account.Tables, account.Blobs);
        await store.EnsureCreatedAsync(CancellationToken.None);
        var settings = TlsRptInboundSettings.Default with { Domains = ["bench.test"] };
        var intake = new TlsReportIntake(settings, store, new FailureRateMonitor(settings, NullLogger<FailureRateMonitor>.Instance), new DecodeMemoryBudget(settings.DecodeMemory), TimeProvider.System, NullLogger<TlsReportIntake>.Instance);

        foreach (var parallelism in new[] { 1, Parallelism })
        {
            var bodies = Enumerable.Range(0, 400).Select(i => TlsRptHostFixture.Gzip(Report((parallelism * 10_000) + i, 30))).ToArray();
            counting.Reset();
            await Parallel.ForEachAsync(bodies, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (body, ct) =>
            {
                var outcome = await intake.ReceiveHttpAsync(new MemoryStream(body), TlsRptMediaTypes.Gzip, body.Length, null, ct);
                if (outcome.Status != TlsReportIntakeStatus.Stored)
                {
                    throw new InvalidOperationException(outcome.Message);
                }
            });
            Console.WriteLine($"storage requests per new report at parallelism {parallelism,2}: {counting.Count / (double)bodies.Length:F2}");
        }
    }

    private static async Task<(double[] Latencies, Dictionary<int, int> Statuses)> PostAllAsync(HttpClient http, byte[][] bodies)
    {
        var latencies = new double[bodies.Length];
        var statuses = new Dictionary<int, int>();
        await Parallel.ForEachAsync(Enumerable.Range(0, bodies.Length), new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (i, _) =>
        {
            var clock = Stopwatch.StartNew();
            var (status, _) = await TlsRptHostFixture.PostAsync(http, "/api/tlsrpt", bodies[i], TlsRptMediaTypes.Gzip);
            latencies[i] = clock.Elapsed.TotalMilliseconds;
            lock (statuses)
            {
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
            }
        });
        return (latencies, statuses);
    }

    /// <summary>A Google-shaped report: one STS policy, a few failure rows; distinct by report-id and counts.</summary>
    private static byte[] Report(int i, int domains)
    {
        var domain = $"d{i % domains}.bench.test";
        return Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $$$"""
            {"organization-name":"Bench Org {{{i % 7}}}","date-range":{"start-datetime":"2026-11-27T00:00:00Z","end-datetime":"2026-11-27T23:59:59Z"},"contact-info":"smtp-tls-reporting@bench.test","report-id":"2026-11-27T00:00:00Z_{{{domain}}}_{{{i}}}","policies":[{"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce","mx: mx1.{{{domain}}}","mx: mx2.{{{domain}}}","max_age: 604800"],"policy-domain":"{{{domain}}}","mx-host":["mx1.{{{domain}}}","mx2.{{{domain}}}"]},"summary":{"total-successful-session-count":{{{1000 + i}}},"total-failure-session-count":{{{i % 5}}}},"failure-details":[{"result-type":"certificate-expired","sending-mta-ip":"209.85.220.41","receiving-mx-hostname":"mx1.{{{domain}}}","receiving-ip":"192.0.2.10","failed-session-count":{{{i % 5}}}}]}]}
            """));
    }
}
