namespace MtaFunctions.Benchmarks;

/// <summary>Every benchmark by name; each area adds its entry.</summary>
public static class BenchmarkRegistry
{
    public static IReadOnlyDictionary<string, Func<Task>> All { get; } = new Dictionary<string, Func<Task>>(StringComparer.OrdinalIgnoreCase)
    {
        ["mta-sts"] = MtaStsBenchmark.RunAsync,
        ["delivery"] = DeliveryThroughputBenchmark.RunAsync,
        ["tlsrpt"] = TlsReportBenchmark.RunAsync,
        ["soak-kill"] = DeliverySoakBenchmark.KillRunAsync,
        ["soak-451"] = DeliverySoakBenchmark.TempFailRunAsync,
        ["storage-ops"] = StorageOpsBenchmark.RunAsync,
        ["tlsrpt-intake"] = TlsRptIntakeBenchmark.RunAsync,
    };
}
