using System.Diagnostics;
using System.Net;
using MtaFunctions.Client;
using MtaFunctions.Client.Contract;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Benchmarks;

/// <summary>
/// Storage operations per delivered message on the real delivery path: the LocalHost process (WebJobs queue
/// listener, handler, crash-recovery record) draining single-recipient messages from Azurite to a loopback sink.
/// Every request Azurite serves is counted from its access log (one line per request), by operation, so the
/// listener's own receives and deletes are in the count too; the idle traffic of the same host (polling, the
/// in-flight heartbeat, timers) is measured after the drain and shown apart. <c>OPS_MESSAGES</c> (default 1,000).
/// </summary>
public static class StorageOpsBenchmark
{
    private const string Domain = "ops.test";

    public static async Task RunAsync()
    {
        var messages = int.TryParse(Environment.GetEnvironmentVariable("OPS_MESSAGES"), out var n) ? n : 1000;
        await using var storage = new AzuriteFixture { CountRequests = true };
        await storage.InitializeAsync();
        using var dns = new TestDnsServer();
        using var ca = new TestCertificateAuthority();
        var port = FreePort.Next();
        dns.Mx(Domain, 10, "mx.ops.test").A("mx.ops.test", "127.0.0.91");
        await using var sink = new TestSmtpServer(IPAddress.Parse("127.0.0.91"), port, ca.IssueServer(["mx.ops.test"]));
        var settings = SinkHostSettings.For(storage, dns, ca, port, "mta.ops.test");

        // The host's start-up (creating what is missing, first polls) is not per message: started and idle first.
        using var host = KillableLocalHost.Start(settings);
        await Task.Delay(TimeSpan.FromSeconds(20));
        var client = new MtaClient(storage.ConnectionString);
        storage.ResetRequests();
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, messages), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await client.SendAsync(new MemoryStream(MtaTestHost.Message("app@sender.test", $"user{i}@{Domain}", $"ops {i}")), "app@sender.test", [$"user{i}@{Domain}"], ct));
        while (sink.Inbox.Select(m => m.To[0]).Distinct().Count() < messages && !host.HasExited)
        {
            await Task.Delay(200);
        }

        // The listener deletes each queue message after its handler returned: counted once the queue is empty.
        var queue = storage.Queues.GetQueueClient(StorageNames.OutboundQueue);
        while ((await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount > 0)
        {
            await Task.Delay(100);
        }

        var drained = clock.Elapsed;
        var during = storage.Requests;
        storage.ResetRequests();
        var idle = TimeSpan.FromSeconds(30);
        await Task.Delay(idle);
        var idleRequests = storage.Requests;
        host.KillHard();

        var producer = during.GetValueOrDefault("POST outbound");
        var delivery = during.Values.Sum() - producer;
        var idleRate = idleRequests.Values.Sum() / idle.TotalSeconds;
        Console.WriteLine($"storage-ops: {messages} messages delivered in {drained.TotalSeconds:0.0}s by the LocalHost process; " +
                          $"producer {producer} requests ({(double)producer / messages:0.00}/msg), delivery side {delivery} ({(double)delivery / messages:0.00}/msg; " +
                          $"the idle host's rate {idleRate:0.00}/s would be {idleRate * drained.TotalSeconds / messages:0.00}/msg over the same time)");
        Console.WriteLine("  during the run, per message: " + string.Join(", ", during.OrderByDescending(r => r.Value).Select(r => $"{r.Key} {(double)r.Value / messages:0.000}")));
        Console.WriteLine($"  idle host, {idle.TotalSeconds:0}s: " + string.Join(", ", idleRequests.OrderByDescending(r => r.Value).Select(r => $"{r.Key} {r.Value}")));
    }
}
