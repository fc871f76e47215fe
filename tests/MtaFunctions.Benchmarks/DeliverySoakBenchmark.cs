using System.Diagnostics;
using System.Net;
using System.Text;
using MtaFunctions.Client;
using MtaFunctions.Client.Contract;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Benchmarks;

/// <summary>
/// Issue 10's soak figures, counted at the receiver: single-recipient messages drained by the LocalHost process
/// (the WebJobs host of the delivery handlers) from Azurite to a loopback SMTP sink.
/// <list type="bullet">
/// <item><c>soak-kill</c>: the LocalHost is killed with SIGKILL at random moments and restarted at once.</item>
/// <item><c>soak-451</c>: the sink answers 451 after the body to a share of the transactions.</item>
/// </list>
/// Sizes: <c>SOAK_MESSAGES</c>, <c>SOAK_KILLS</c>, <c>SOAK_TEMPFAIL</c> (environment), defaults 5,000 / 20 / 0.10.
/// Azurite itself is never killed (it loses acknowledged writes when killed; real storage does not).
/// </summary>
public static class DeliverySoakBenchmark
{
    private const string Domain = "soak.test";

    public static Task KillRunAsync() =>
        RunAsync(Env("SOAK_MESSAGES", 5000), Env("SOAK_KILLS", 20), 0);

    public static Task TempFailRunAsync() =>
        RunAsync(Env("SOAK_MESSAGES", 2000), 0, double.Parse(Environment.GetEnvironmentVariable("SOAK_TEMPFAIL") ?? "0.10", System.Globalization.CultureInfo.InvariantCulture));

    private static async Task RunAsync(int messages, int kills, double tempFail)
    {
        await using var storage = new AzuriteFixture();
        await storage.InitializeAsync();
        using var dns = new TestDnsServer();
        using var ca = new TestCertificateAuthority();
        var port = FreePort.Next();
        dns.Mx(Domain, 10, "mx.soak.test").A("mx.soak.test", "127.0.0.90");
        await using var sink = new TestSmtpServer(IPAddress.Parse("127.0.0.90"), port, ca.IssueServer(["mx.soak.test"])) { EndOfDataTempFailRate = tempFail };
        var settings = SinkHostSettings.For(storage, dns, ca, port, "mta.soak.test");
        settings["Queue:Outbound:Retry:Schedule"] = "2s";

        var client = new MtaClient(storage.ConnectionString);
        await client.EnsureCreatedAsync();

        // The host creates the poison queue when it first starts; the drain loop reads it before that.
        var poison = storage.Queues.GetQueueClient(StorageNames.OutboundPoisonQueue);
        await poison.CreateIfNotExistsAsync();
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, messages), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await client.SendAsync(new MemoryStream(MtaTestHost.Message("app@sender.test", $"user{i}@{Domain}", $"soak {i}")), "app@sender.test", [$"user{i}@{Domain}"], ct));
        Console.WriteLine($"queued {messages} in {clock.Elapsed.TotalSeconds:0.0}s");

        var host = KillableLocalHost.Start(settings);
        var random = new Random();
        DateTime? lastKill = null;
        var killTimes = new List<DateTime>();
        clock.Restart();
        for (var k = 0; k < kills && Distinct(sink) < messages; k++)
        {
            // A random moment while the host is delivering: after it has delivered something since its start.
            var atStart = sink.Inbox.Count;
            while (sink.Inbox.Count == atStart && !host.HasExited)
            {
                await Task.Delay(50);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(200, 4000)));
            host.KillHard();
            host.Dispose();
            lastKill = DateTime.UtcNow;
            killTimes.Add(lastKill.Value);
            Console.WriteLine($"kill {k + 1} at {clock.Elapsed.TotalSeconds:0.0}s: {Distinct(sink)} delivered so far");
            host = KillableLocalHost.Start(settings);
        }

        // Messages in flight at a kill come back, and the killed host's connection slots come free, in the restarted
        // host's first recovery scan (InFlightRecovery: the killed process is provably gone); one taken in the last
        // couple of seconds before a kill may stay invisible for the listener's fixed 10 minutes.
        // The drain ends when every message is at the sink or poisoned, or when nothing moved for longer than
        // the listener's 10 minutes (a loaded machine drains slowly; that is not loss).
        var lastProgress = (Count: -1, At: DateTime.UtcNow);
        var patience = kills > 0 ? TimeSpan.FromMinutes(11) : TimeSpan.FromMinutes(2);
        while (true)
        {
            var poisoned = (await poison.GetPropertiesAsync()).Value.ApproximateMessagesCount;
            var done = Distinct(sink) + poisoned;
            if (done >= messages)
            {
                break;
            }

            if (done != lastProgress.Count)
            {
                lastProgress = (done, DateTime.UtcNow);
            }
            else if (DateTime.UtcNow - lastProgress.At > patience)
            {
                break;
            }

            await Task.Delay(1000);
        }

        var drained = clock.Elapsed.TotalSeconds;
        await Task.Delay(3000);
        host.Dispose();
        var copies = sink.Inbox.GroupBy(m => m.To[0]).ToDictionary(g => g.Key, g => g.Count());
        var poisonedCount = (await poison.GetPropertiesAsync()).Value.ApproximateMessagesCount;
        var once = copies.Values.Count(c => c == 1);
        var twice = copies.Values.Count(c => c == 2);
        var more = copies.Values.Count(c => c > 2);
        // Still on the queue (visible or not) is not lost: shown apart, and only what is nowhere counts as lost (a queue
        // message left may hold several envelopes: then "lost" counts too many, never too few).
        var queued = (await storage.Queues.GetQueueClient(StorageNames.OutboundQueue).GetPropertiesAsync()).Value.ApproximateMessagesCount;
        var lost = Math.Max(0, messages - copies.Count - poisonedCount - queued);
        // The kills made, not asked for: the loop stops once everything is at the sink.
        Console.WriteLine($"soak: sent {messages}, kills {killTimes.Count} (of {kills} planned; none once all were delivered), 451-after-body rate {tempFail:P0}, 451 answered {sink.TempFailed}: " +
                          $"delivered once {once}, twice {twice}, more {more}, lost {lost}, poisoned {poisonedCount}, still queued {queued}; " +
                          $"{drained:0}s from first start to drained" +
                          (lastKill is { } last ? $", {(DateTime.UtcNow - last).TotalSeconds - 3:0}s after the last kill" : ""));

        // The crash window, measured: for each message stored twice, how long before the next kill its first copy
        // was stored (the sink stores just before it sends the 250). Times up to the MX's 250 travelling back and
        // the state write reaching storage are the window an MTA cannot close (RFC 1047); longer ones are ours.
        var windows = sink.Inbox.GroupBy(m => m.To[0]).Where(g => g.Count() > 1)
            .Select(g => g.Min(m => m.StoredAt))
            .Select(first => killTimes.Where(k => k >= first).Select(k => (k - first).TotalMilliseconds).DefaultIfEmpty(double.NaN).Min())
            .Order()
            .ToList();
        if (windows.Count > 0)
        {
            Console.WriteLine($"duplicates: first copy stored this many ms before the next kill: {string.Join(", ", windows.Select(w => w.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))}");
        }
    }

    private static int Distinct(TestSmtpServer sink) => sink.Inbox.Select(m => m.To[0]).Distinct().Count();

    private static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var value) ? value : fallback;
}
