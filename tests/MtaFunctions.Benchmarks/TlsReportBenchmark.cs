using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using MtaFunctions.Core;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Core.Storage;
using MtaFunctions.Tests.Infrastructure;
using MtaFunctions.Tests.Reporting.Outbound;

namespace MtaFunctions.Benchmarks;

/// <summary>
/// Issue 5's figures: record 1,000,000 TLS session results across 10,000 policy domains (4 recording tasks,
/// a flush every 100,000 sessions), then build every report of the day (read, aggregate, JSON, gzip), then run
/// the whole timer tick that plans, looks up 10,000 TLSRPT records and POSTs 10,000 reports to a loopback
/// https rua. Prints wall time, peak working set and storage operations of each phase.
/// </summary>
public static class TlsReportBenchmark
{
    private const int Sessions = 1_000_000;
    private const int Domains = 10_000;
    private const int Tasks = 4;

    public static async Task RunAsync()
    {
        await using var storage = new AzuriteFixture();
        await storage.InitializeAsync();
        using var dns = new TestDnsServer();
        using var ca = new TestCertificateAuthority();
        await using var endpoint = await TestReportEndpoint.StartAsync(ca.IssueServer(["rua.reports.test"]));
        dns.A("rua.reports.test", "127.0.0.1");
        for (var d = 0; d < Domains; d++)
        {
            dns.Txt($"_smtp._tls.d{d}.bench.test", $"v=TLSRPTv1; rua=https://rua.reports.test:{endpoint.Port}/v1/tlsrpt");
        }

        using var rsa = RSA.Create(2048);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero));
        var counting = new CountingPolicy();
        var account = StorageAccount.FromConnectionString(storage.ConnectionString, counting);
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = storage.ConnectionString,
            ["Dns:Servers"] = dns.EndPoint.ToString(),
            ["Queue:Outbound:Tls:ExtraRootCas"] = ca.PemFile,
            ["Queue:Outbound:AllowPrivateDestinations"] = "true",
            ["Queue:Outbound:Hostname"] = "mta.bench.test",
            ["Report:Tls:Aggregate:Send"] = "daily",
            ["Report:Tls:Aggregate:Sign"] = "rsa",
            ["Report:Dkim:rsa:Domain"] = "mta.bench.test",
            ["Report:Dkim:rsa:Selector"] = "s1",
            ["Report:Dkim:rsa:PrivateKey"] = rsa.ExportPkcs8PrivateKeyPem(),
        }).Build();
        await using var services = new ServiceCollection()
            .AddLogging(l => l.SetMinimumLevel(LogLevel.Error))
            .AddSingleton<TimeProvider>(time)
            .AddSingleton(account)
            .AddMtaCore(config)
            .BuildServiceProvider();
        await services.GetRequiredService<StorageInitializer>().EnsureCreatedAsync(CancellationToken.None);
        var recorder = services.GetRequiredService<ITlsSessionRecorder>();
        var flusher = services.GetRequiredService<TlsResultsFlusher>();
        var policies = Enumerable.Range(0, Domains).Select(d => new TlsRptPolicy(
            TlsRptPolicyType.Sts, $"d{d}.bench.test", ["version: STSv1", "mode: enforce", $"mx: mx.d{d}.bench.test", "max_age: 604800"], [$"mx.d{d}.bench.test"])).ToArray();
        var failures = new[] { TlsRptResultType.CertificateExpired, TlsRptResultType.StartTlsNotSupported, TlsRptResultType.CertificateHostMismatch };

        // Phase 1: recording, flushed every 100,000 sessions.
        counting.Reset();
        var clock = Stopwatch.StartNew();
        var recorded = 0L;
        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            for (var i = t; i < Sessions; i += Tasks)
            {
                var d = i % Domains;
                var failure = i % 20 == 0 ? failures[(i / 20) % 3] : (TlsRptResultType?)null;
                recorder.Record(new TlsSessionResult(
                    policies[d], $"mx.d{d}.bench.test", $"192.0.2.{1 + (i % 2)}", "198.51.100.7", failure, failure is null ? null : "detail"));
                if (Interlocked.Increment(ref recorded) % 100_000 == 0)
                {
                    await flusher.FlushAsync(CancellationToken.None);
                }
            }
        })));
        await flusher.FlushAsync(CancellationToken.None);
        var recordSeconds = clock.Elapsed.TotalSeconds;
        var recordOps = counting.Count;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"record: {Sessions:N0} sessions, {Domains:N0} domains in {recordSeconds:0.00}s ({Sessions / recordSeconds:N0}/s incl. flushes); " +
            $"table operations {recordOps} ({flusher.Transactions} flush transactions); peak working set {PeakMb():0} MB"));

        // Phase 2: build every report of the day from the table (read, aggregate, JSON, gzip), no sending.
        var settings = services.GetRequiredService<TlsReportSettings>();
        var period = TlsReportPeriod.Containing(TlsReportFrequency.Daily, time.GetUtcNow());
        counting.Reset();
        clock.Restart();
        var sums = await services.GetRequiredService<TlsResultsStore>().ReadAsync(period.HourKeys(), CancellationToken.None);
        long gzipBytes = 0, total = 0;
        foreach (var domain in sums.GroupBy(s => s.Key.Policy.Domain))
        {
            var report = TlsReportBuilder.Build(settings, period, TlsReportBuilder.NewReportId(period, settings.Submitter), domain);
            gzipBytes += TlsRptReportSerializer.SerializeGzip(report).Length;
            total += report.TotalSuccessfulSessions + report.TotalFailureSessions;
        }

        var buildSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"build: {Domains:N0} reports ({total:N0} sessions, {gzipBytes / 1024.0 / 1024:0.0} MB gzip'd) in {buildSeconds:0.00}s; " +
            $"table operations {counting.Count}; peak working set {PeakMb():0} MB"));
        if (total != Sessions)
        {
            throw new InvalidOperationException($"counted {total} sessions, recorded {Sessions}");
        }

        // Phase 3: the timer tick after the day: plan, TLSRPT lookups, build, POST to the https rua.
        time.SetUtcNow(new DateTimeOffset(2026, 11, 28, 4, 11, 0, TimeSpan.Zero));
        counting.Reset();
        clock.Restart();
        var result = await services.GetRequiredService<TlsReportSender>().RunAsync(CancellationToken.None);
        var sendSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"send tick: {result.Sent:N0} reports POSTed ({endpoint.Received.Count:N0} received, {result.Failed} failed) in {sendSeconds:0.00}s; " +
            $"table operations {counting.Count} ({counting.Count / (double)Math.Max(1, result.Sent):0.0} per report); peak working set {PeakMb():0} MB"));
    }

    private static double PeakMb()
    {
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64 / 1024.0 / 1024.0;
    }
}
