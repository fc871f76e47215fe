using MtaFunctions.Benchmarks;

// Benchmarks print their figures; they never assert on time. Run one:
//   dotnet run -c Release --project tests/MtaFunctions.Benchmarks -- NAME [ARGS]
var benchmarks = BenchmarkRegistry.All;
if (args.Length < 1 || !benchmarks.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine("usage: MtaFunctions.Benchmarks NAME [ARGS]   where NAME is one of: " + string.Join(", ", benchmarks.Keys));
    return 2;
}

await run(args[1..]);
return 0;
