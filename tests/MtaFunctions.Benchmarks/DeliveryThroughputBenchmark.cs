using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using MtaFunctions.Client;
using MtaFunctions.Client.Contract;
using MtaFunctions.Tests.Infrastructure;
using MtaFunctions.Tests.Policy.Dane;

namespace MtaFunctions.Benchmarks;

/// <summary>
/// Issue 14's throughput comparison, side by side on one machine: 2,000 single-recipient messages of 1 KiB to
/// one domain whose MX is a Debian Postfix sink (each message committed to its queue before the 250, then
/// written to a Maildir), under opportunistic DANE with the TLSA record signed in the DNSSEC lab (NSD +
/// validating Unbound, shared by both senders). Senders: our LocalHost (the WebJobs host with the Function
/// App's host.json) on Azurite, fed by the Client library; and Debian Postfix 3.7 with
/// <c>smtp_tls_security_level = dane</c>, fed over SMTP. Two figures per sender:
/// end to end (injection included, until every message is at the sink) and delivery only (the queue filled
/// first, the sender started after; its start-up included).
/// </summary>
/// <remarks>
/// Settings for our host can be passed as arguments (<c>KEY=VALUE</c>, environment form, e.g.
/// <c>AzureFunctionsJobHost__extensions__queues__batchSize=32</c>), to compare tunings without a rebuild.
/// </remarks>
public static class DeliveryThroughputBenchmark
{
    private const string Domain = "bench.test";
    private const string MxHost = "mx.bench.test";
    private static int Injectors = 8;
    private static string? HostDll;
    private static bool AzuriteInMemory;
    private static bool CountRequests = true;
    private static int Warmup;
    private static readonly IPAddress SinkAddress = IPAddress.Parse("127.0.0.95");
    private static readonly IPAddress ResolverAddress = IPAddress.Parse("127.0.0.153");
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(10);

    public static async Task RunAsync(string[] args)
    {
        var messages = 2000;
        var runs = new HashSet<string>(["ours-e2e", "postfix-e2e", "ours-delivery", "postfix-delivery"]);
        var overrides = new Dictionary<string, string>();
        foreach (var arg in args)
        {
            if (arg.StartsWith("--messages=", StringComparison.Ordinal))
            {
                messages = int.Parse(arg["--messages=".Length..], CultureInfo.InvariantCulture);
            }
            else if (arg.StartsWith("--injectors=", StringComparison.Ordinal))
            {
                Injectors = int.Parse(arg["--injectors=".Length..], CultureInfo.InvariantCulture);
            }
            else if (arg.StartsWith("--host-dll=", StringComparison.Ordinal))
            {
                // A published LocalHost (e.g. ReadyToRun) instead of the one built beside the benchmark.
                HostDll = arg["--host-dll=".Length..];
            }
            else if (arg == "--azurite-in-memory")
            {
                AzuriteInMemory = true;
            }
            else if (arg.StartsWith("--warmup=", StringComparison.Ordinal))
            {
                // End to end only: messages delivered by the started host before the clock starts, so that the
                // figure is a running instance's (its JIT done) rather than a freshly started one's.
                Warmup = int.Parse(arg["--warmup=".Length..], CultureInfo.InvariantCulture);
            }
            else if (arg == "--no-request-count")
            {
                // Azurite's access log (one line per request, parsed here) costs CPU of its own.
                CountRequests = false;
            }
            else if (arg.StartsWith("--only=", StringComparison.Ordinal))
            {
                runs = arg["--only=".Length..].Split(',').ToHashSet();
            }
            else if (arg.Split('=', 2) is [var key, var value])
            {
                overrides[key] = value;
            }
        }

        if (!PostfixInstance.IsAvailable)
        {
            Console.WriteLine("delivery: skipped (needs root and Debian's postfix, nsd, unbound and ldnsutils: tests/apt-packages.txt)");
            return;
        }

        var leaf = DaneTestCertificates.Leaf(null, [MxHost]);
        await using var lab = new DnssecLab { Port53Address = ResolverAddress };
        lab.AddDaneEe(Domain, SinkAddress, leaf);
        await lab.InitializeAsync();
        using var sink = await PostfixSink.StartAsync(Domain, MxHost, SinkAddress, leaf);
        var payloads = Enumerable.Range(0, messages).Select(Message).ToList();
        Console.WriteLine($"{messages} messages of {payloads[0].Length} bytes, 1 recipient each, to {Domain} (MX {MxHost} = Postfix sink at {SinkAddress}:25, DANE-EE 3 1 1, DNSSEC-signed); {Injectors} injectors; {Environment.ProcessorCount} cores");
        if (overrides.Count > 0)
        {
            Console.WriteLine("our host's settings: " + string.Join(", ", overrides.Select(o => $"{o.Key}={o.Value}")));
        }

        Console.WriteLine($"our host: {HostDll ?? "the LocalHost built beside the benchmark"}; Azurite {(AzuriteInMemory ? "in memory (--inMemoryPersistence)" : "persisting to disk (as in tests and npm start)")}");

        var oursE2e = runs.Contains("ours-e2e") ? await OursAsync(lab, sink, payloads, fillFirst: false, overrides) : null;
        var postfixE2e = runs.Contains("postfix-e2e") ? await PostfixAsync(sink, payloads, fillFirst: false) : null;
        var oursDelivery = runs.Contains("ours-delivery") ? await OursAsync(lab, sink, payloads, fillFirst: true, overrides) : null;
        var postfixDelivery = runs.Contains("postfix-delivery") ? await PostfixAsync(sink, payloads, fillFirst: true) : null;
        if (oursE2e is not null && postfixE2e is not null)
        {
            Console.WriteLine($"ratio end to end (injection included): {oursE2e.Rate / postfixE2e.Rate:0.00}");
        }

        if (oursDelivery is not null && postfixDelivery is not null)
        {
            Console.WriteLine($"ratio delivery only (start-up included): {oursDelivery.Rate / postfixDelivery.Rate:0.00}");
        }
    }

    private sealed record Figures(double Seconds, int Messages)
    {
        public double Rate => Messages / Seconds;
    }

    private static async Task<Figures> OursAsync(
        DnssecLab lab, PostfixSink sink, IReadOnlyList<byte[]> payloads, bool fillFirst, IReadOnlyDictionary<string, string> overrides)
    {
        await using var storage = AzuriteFixture.Create(new AzuriteOptions { InMemory = AzuriteInMemory }, countRequests: CountRequests);
        await storage.InitializeAsync();
        var client = new MtaClient(storage.ConnectionString);
        await client.EnsureCreatedAsync();
        var environment = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = storage.ConnectionString,
            ["Dns__Servers"] = lab.Resolver.ToString(),
            ["Dns__TrustedValidators"] = lab.Resolver.ToString(),
            ["Queue__Outbound__AllowPrivateDestinations"] = "true",
            ["Queue__Outbound__Hostname"] = "mta.bench.test",
        };
        foreach (var (key, value) in overrides)
        {
            environment[key] = value;
        }

        sink.Clear();
        var name = fillFirst ? "mtafunctions delivery only" : "mtafunctions end to end";
        LocalHostProcess? host = fillFirst ? null : await LocalHostProcess.StartAsync(environment, HostDll);
        try
        {
            if (host is not null && Warmup > 0)
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, Warmup), new ParallelOptions { MaxDegreeOfParallelism = Injectors }, async (i, ct) =>
                    await client.SendAsync(new MemoryStream(payloads[i % payloads.Count]), "app@sender.test", [$"warmup{i}@{Domain}"], ct));
                await sink.WaitForAsync(Warmup, Deadline);
                await QueueEmptiedAsync(storage);
                sink.Clear();
                name += $" (after {Warmup} warm-up messages)";
            }

            var load = Load();
            storage.ResetRequests();
            var cpu = new CpuMeter(sink.MasterPid, storage.ProcessId, host?.ProcessId);
            var clock = Stopwatch.StartNew();
            var ids = new string[payloads.Count];
            await Parallel.ForEachAsync(Enumerable.Range(0, payloads.Count), new ParallelOptions { MaxDegreeOfParallelism = Injectors }, async (i, ct) =>
                ids[i] = await client.SendAsync(new MemoryStream(payloads[i]), "app@sender.test", [$"user{i}@{Domain}"], ct));
            var injected = clock.Elapsed.TotalSeconds;
            var producer = storage.Requests.Values.Sum();
            if (fillFirst)
            {
                load = Load();
                storage.ResetRequests();
                cpu = new CpuMeter(sink.MasterPid, storage.ProcessId, null);
                clock.Restart();
                host = await LocalHostProcess.StartAsync(environment, HostDll);
                cpu = cpu with { Host = host.ProcessId };
            }

            var started = clock.Elapsed.TotalSeconds;
            await sink.WaitForAsync(payloads.Count, Deadline);
            var seconds = clock.Elapsed.TotalSeconds;
            var used = cpu.Read(payloads.Count);

            // The host records each delivery and deletes its queue message after the sink's 250: the storage
            // operations are counted once the queue is empty.
            await QueueEmptiedAsync(storage);

            var requests = storage.Requests;
            var delivery = requests.Where(r => !(fillFirst is false && r.Key == "POST outbound")).Sum(r => r.Value);
            var figures = new Figures(seconds, payloads.Count);
            Console.WriteLine($"{name}: {payloads.Count} in {seconds:0.00}s = {figures.Rate:0.0} msg/s " +
                              (fillFirst ? $"(host start-up {started:0.00}s included; queue filled in {injected:0.00}s before) " : $"(enqueue done after {injected:0.00}s) ") +
                              $"| {used} | {load}");
            Console.WriteLine(!CountRequests ? "  storage requests not counted (--no-request-count)" : $"  storage requests per delivered message: {(double)delivery / payloads.Count:0.00} on the delivery side" +
                              (fillFirst ? $" (producer: {(double)producer / payloads.Count:0.00})" : "") + ": " +
                              string.Join(", ", requests.OrderByDescending(r => r.Value).Select(r => $"{r.Key} {(double)r.Value / payloads.Count:0.00}")));
            var sample = (await client.GetStatusAsync(ids[^1])).Single();
            Console.WriteLine($"  host peak resident memory {host!.PeakResidentBytes / 1048576.0:0} MB; last message: {sample.State}, policy {sample.PolicyApplied}, certificate verified {sample.CertificateVerified}, {sample.TlsVersion}");
            return figures;
        }
        finally
        {
            if (host is not null)
            {
                await host.DisposeAsync();
            }
        }
    }

    private static async Task<Figures> PostfixAsync(PostfixSink sink, IReadOnlyList<byte[]> payloads, bool fillFirst)
    {
        using var sender = await PostfixSender.StartAsync(ResolverAddress, holdDelivery: fillFirst);
        sink.Clear();
        var name = fillFirst ? "postfix delivery only" : "postfix end to end";
        if (!fillFirst && Warmup > 0)
        {
            await InjectOverSmtpAsync(sender, payloads, Warmup, "warmup");
            await sink.WaitForAsync(Warmup, Deadline);
            sink.Clear();
            name += $" (after {Warmup} warm-up messages)";
        }

        var load = Load();
        var cpu = new CpuMeter(sink.MasterPid, null, sender.MasterPid);
        var clock = Stopwatch.StartNew();
        await InjectOverSmtpAsync(sender, payloads, payloads.Count, "user");
        var injected = clock.Elapsed.TotalSeconds;
        if (fillFirst)
        {
            var deadline = DateTime.UtcNow + Deadline;
            while (sender.Deferred < payloads.Count && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            sender.Stop();
            load = Load();
            clock.Restart();
            sender.Release();
            cpu = new CpuMeter(sink.MasterPid, null, sender.MasterPid);
        }

        try
        {
            await sink.WaitForAsync(payloads.Count, Deadline);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nsender log ends: {string.Join('\n', sender.Log().Split('\n').TakeLast(10))}", e);
        }

        var seconds = clock.Elapsed.TotalSeconds;
        var figures = new Figures(seconds, payloads.Count);
        Console.WriteLine($"{name}: {payloads.Count} in {seconds:0.00}s = {figures.Rate:0.0} msg/s " +
                          (fillFirst ? $"(start-up included; queue filled over SMTP in {injected:0.00}s before) " : $"(SMTP injection done after {injected:0.00}s) ") +
                          $"| {cpu.Read(payloads.Count)} | {load}");
        var log = sender.Log().Split('\n');
        var verified = log.Count(l => l.Contains("Verified TLS connection established", StringComparison.Ordinal));
        var tls = log.Count(l => l.Contains("TLS connection established", StringComparison.Ordinal));
        Console.WriteLine($"  postfix TLS connections: {tls}, of them DANE-verified: {verified}");
        return figures;
    }

    private static async Task QueueEmptiedAsync(AzuriteFixture storage)
    {
        var queue = storage.Queues.GetQueueClient(StorageNames.OutboundQueue);
        while ((await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount > 0)
        {
            await Task.Delay(100);
        }
    }

    private static async Task InjectOverSmtpAsync(PostfixSender sender, IReadOnlyList<byte[]> payloads, int count, string localPart)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Injectors).Select(async _ =>
        {
            using var smtp = new SmtpClient();
            await smtp.ConnectAsync(PostfixSender.InjectAddress.ToString(), sender.InjectPort, SecureSocketOptions.None);
            for (var i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                var message = MimeMessage.Load(new MemoryStream(payloads[i % payloads.Count]));
                await smtp.SendAsync(message, new MailboxAddress("", "app@sender.test"), [new MailboxAddress("", $"{localPart}{i}@{Domain}")]);
            }

            await smtp.DisconnectAsync(true);
        }));
    }

    // One KiB: headers and a plain body of 76-character lines.
    private static byte[] Message(int i)
    {
        var body = new StringBuilder();
        var line = new string('x', 74) + "\r\n";
        var head = MtaTestHost.Message("app@sender.test", $"user{i}@{Domain}", $"benchmark {i}", body: "").Length;
        while (head + body.Length + line.Length <= 1024)
        {
            body.Append(line);
        }

        body.Append(new string('y', Math.Max(0, 1024 - head - body.Length - 2))).Append("\r\n");
        return MtaTestHost.Message("app@sender.test", $"user{i}@{Domain}", $"benchmark {i}", body: body.ToString());
    }

    private static string Load() => "load average " + File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Aggregate((a, b) => $"{a} {b}") + " (2 cores; other work on the machine counts in it)";

    /// <summary>
    /// CPU of the sink, Azurite, the sender (our host or Postfix) and the whole machine since it was made: in cores
    /// (CPU seconds per second) and in CPU milliseconds per message, the figure that decides on a saturated machine.
    /// </summary>
    private sealed record CpuMeter(int Sink, int? Azurite, int? Host)
    {
        private readonly double _sink = ProcessCpu.Seconds(Sink);
        private readonly double _azurite = Azurite is { } a ? ProcessCpu.Seconds(a) : 0;
        private readonly double _machine = ProcessCpu.MachineSeconds();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly double _host = Host is { } h ? ProcessCpu.Seconds(h) : 0;

        // This process: the producer's injectors (MtaClient or SMTP submission) and the benchmark's own waiting.
        private readonly double _self = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

        public string Read(int messages)
        {
            var wall = _clock.Elapsed.TotalSeconds;
            string Cores(double seconds) => $"{seconds / wall:0.00} cores = {seconds * 1000 / messages:0.0} ms/msg";
            var parts = new List<string>();
            if (Host is { } h)
            {
                parts.Add($"sender {Cores(ProcessCpu.Seconds(h) - _host)}");
            }

            if (Azurite is { } a)
            {
                parts.Add($"azurite {Cores(ProcessCpu.Seconds(a) - _azurite)}");
            }

            parts.Add($"sink {Cores(ProcessCpu.Seconds(Sink) - _sink)}");
            parts.Add($"producer and benchmark {Cores(System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - _self)}");
            parts.Add($"machine {Cores(ProcessCpu.MachineSeconds() - _machine)}");
            return "CPU: " + string.Join(", ", parts);
        }
    }
}
