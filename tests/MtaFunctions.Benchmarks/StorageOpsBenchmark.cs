using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using MtaFunctions.Client;
using MtaFunctions.Client.Contract;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Benchmarks;

/// <summary>
/// Storage operations per delivered message on the real delivery path: the LocalHost process (WebJobs queue
/// listener, handler, crash-recovery record) draining single-recipient messages from Azurite to a loopback sink.
/// Every request Azurite serves is counted from its debug log (one line per request), by operation, so the
/// listener's own receives and deletes are in the count too; the idle traffic of the same host (polling, the
/// in-flight heartbeat, timers) is measured after the drain and shown apart. <c>OPS_MESSAGES</c> (default 1,000).
/// </summary>
public static partial class StorageOpsBenchmark
{
    private const string Domain = "ops.test";

    [GeneratedRegex(@"(Queue|Table|Blob)StorageContextMiddleware: RequestMethod=(\w+) RequestURL=(\S+)")]
    private static partial Regex RequestLine();

    public static async Task RunAsync()
    {
        var messages = int.TryParse(Environment.GetEnvironmentVariable("OPS_MESSAGES"), out var n) ? n : 1000;
        var log = Path.Combine(Directory.CreateTempSubdirectory("azurite-ops").FullName, "debug.log");
        await using var storage = new AzuriteFixture { DebugLogPath = log };
        await storage.InitializeAsync();
        using var dns = new TestDnsServer();
        using var ca = new TestCertificateAuthority();
        var port = FreePort.Next();
        dns.Mx(Domain, 10, "mx.ops.test").A("mx.ops.test", "127.0.0.91");
        await using var sink = new TestSmtpServer(IPAddress.Parse("127.0.0.91"), port, ca.IssueServer(["mx.ops.test"]));
        var settings = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = storage.ConnectionString,
            ["Dns:Servers"] = dns.EndPoint.ToString(),
            ["Queue:Outbound:Smtp:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Queue:Outbound:Tls:ExtraRootCas"] = ca.PemFile,
            ["Queue:Outbound:AllowPrivateDestinations"] = "true",
            ["Queue:Outbound:Hostname"] = "mta.ops.test",
            ["LocalHost:Http:Port"] = "0",
        };

        // The host's start-up (creating what is missing, first polls) is not per message: started and idle first.
        using var host = KillableLocalHost.Start(settings);
        await Task.Delay(TimeSpan.FromSeconds(20));
        var client = new MtaClient(storage.ConnectionString);
        var beforeEnqueue = Requests(log).Count;
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, messages), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await client.SendAsync(new MemoryStream(MtaTestHost.Message("app@sender.test", $"user{i}@{Domain}", $"ops {i}")), "app@sender.test", [$"user{i}@{Domain}"], ct));
        while (sink.Inbox.Select(m => m.To[0]).Distinct().Count() < messages && !host.HasExited)
        {
            await Task.Delay(200);
        }

        var drained = clock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(3));
        var during = Requests(log).Skip(beforeEnqueue).ToList();
        var idleStart = Requests(log).Count;
        var idle = TimeSpan.FromSeconds(30);
        await Task.Delay(idle);
        var idleRequests = Requests(log).Skip(idleStart).ToList();
        host.KillHard();

        var producer = during.Count(r => r.Method == "POST" && r.Operation.StartsWith("queue outbound/messages", StringComparison.Ordinal));
        var delivery = during.Count - producer;
        var idleRate = idleRequests.Count / idle.TotalSeconds;
        Console.WriteLine($"storage-ops: {messages} messages delivered in {drained.TotalSeconds:0.0}s by the LocalHost process; " +
                          $"{during.Count} requests from first enqueue to drained + 3s: producer {producer} ({(double)producer / messages:0.00}/msg), " +
                          $"delivery side {delivery} ({(double)delivery / messages:0.00}/msg, of which idle-rate traffic ≈ {idleRate * (drained.TotalSeconds + 3):0} over the same time)");
        Console.WriteLine("by operation (during the run, per message):");
        foreach (var group in during.GroupBy(r => $"{r.Method} {r.Operation}").OrderByDescending(g => g.Count()))
        {
            Console.WriteLine($"  {group.Count(),7}  {(double)group.Count() / messages,6:0.000}  {group.Key}");
        }

        Console.WriteLine($"idle host: {idleRequests.Count} requests in {idle.TotalSeconds:0}s ({idleRate:0.00}/s):");
        foreach (var group in idleRequests.GroupBy(r => $"{r.Method} {r.Operation}").OrderByDescending(g => g.Count()))
        {
            Console.WriteLine($"  {group.Count(),7}  {group.Key}");
        }
    }

    private sealed record Request(string Method, string Operation);

    // One line per request; the URL made an operation name (ids, keys and query values left out).
    private static List<Request> Requests(string log)
    {
        using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var requests = new List<Request>();
        while (reader.ReadLine() is { } line)
        {
            var match = RequestLine().Match(line);
            if (!match.Success)
            {
                continue;
            }

            var url = new Uri(match.Groups[3].Value);
            var path = url.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
            if (path.Count >= 3 && path[1] == "messages")
            {
                path[2] = "{id}";
            }

            var resource = Regex.Replace(string.Join('/', path), @"\(.*\)", "(…)");
            var query = string.Join('&', url.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
                .Select(p => p.Split('=')[0]).Where(k => k is not ("sv" or "timeout")).Order());
            requests.Add(new Request(match.Groups[2].Value, $"{match.Groups[1].Value.ToLowerInvariant()} {resource}{(query.Length > 0 ? "?" + query : "")}"));
        }

        return requests;
    }
}
