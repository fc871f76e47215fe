namespace MtaFunctions.Benchmarks;

/// <summary>Every benchmark by name; each area adds its entry.</summary>
public static class BenchmarkRegistry
{
    public static IReadOnlyDictionary<string, Func<string[], Task>> All { get; } = new Dictionary<string, Func<string[], Task>>(StringComparer.OrdinalIgnoreCase)
    {
        ["mta-sts"] = _ => MtaStsBenchmark.RunAsync(),
        ["delivery"] = DeliveryThroughputBenchmark.RunAsync,
        ["tlsrpt"] = _ => TlsReportBenchmark.RunAsync(),
        ["soak-kill"] = _ => DeliverySoakBenchmark.KillRunAsync(),
        ["soak-451"] = _ => DeliverySoakBenchmark.TempFailRunAsync(),
        ["storage-ops"] = _ => StorageOpsBenchmark.RunAsync(),
        ["tlsrpt-intake"] = _ => TlsRptIntakeBenchmark.RunAsync(),
        ["tlsrpt-memory"] = _ => TlsRptMemoryBenchmark.RunAsync(),
    };
}
