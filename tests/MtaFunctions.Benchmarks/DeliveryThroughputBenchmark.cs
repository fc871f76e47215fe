using System.Diagnostics;
using System.Net;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MimeKit;
using MtaFunctions.Client;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Storage;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Benchmarks;

/// <summary>
/// Issue 2's figures: 2,000 single-recipient messages through the outbound queue (Azurite) to a loopback
/// STARTTLS sink, then the same 2,000 through Debian's Postfix (same opportunistic STARTTLS) to the same sink.
/// </summary>
public static class DeliveryThroughputBenchmark
{
    private const int Messages = 2000;
    private const string Domain = "bench.test";

    public static async Task RunAsync()
    {
        await using var storage = new AzuriteFixture();
        await storage.InitializeAsync();
        using var dns = new TestDnsServer();
        using var ca = new TestCertificateAuthority();
        var port = FreePort.Next();
        dns.Mx(Domain, 10, "mx.bench.test").A("mx.bench.test", "127.0.0.50");
        await using var sink = new TestSmtpServer(IPAddress.Parse("127.0.0.50"), port, ca.IssueServer(["mx.bench.test"]));

        var ours = await RunOursAsync(storage, dns, ca, port, sink);
        Console.WriteLine($"mtafunctions: {Messages} messages in {ours.Seconds:0.00}s = {Messages / ours.Seconds:0.0} msg/s " +
                          $"(enqueue {ours.EnqueueSeconds:0.00}s not included); peak working set {ours.PeakMb:0} MB; " +
                          $"storage transactions/message {ours.TransactionsPerMessage:0.00} (delivery {ours.DeliveryTransactionsPerMessage:0.00} + producer {ours.ProducerTransactionsPerMessage:0.00}); " +
                          $"SMTP connections {ours.Sessions}");

        if (!PostfixSender.IsAvailable)
        {
            Console.WriteLine("postfix: skipped (needs root and Debian's postfix package: apt-get install postfix)");
            return;
        }

        var postfixSeconds = await RunPostfixAsync(ca, port, sink);
        Console.WriteLine($"postfix: {Messages} messages in {postfixSeconds:0.00}s = {Messages / postfixSeconds:0.0} msg/s (injection over SMTP included)");
        Console.WriteLine($"ratio mtafunctions/postfix: {(Messages / ours.Seconds) / (Messages / postfixSeconds):0.00}");
    }

    private sealed record OurFigures(double Seconds, double EnqueueSeconds, double PeakMb, double TransactionsPerMessage,
        double DeliveryTransactionsPerMessage, double ProducerTransactionsPerMessage, int Sessions);

    private static async Task<OurFigures> RunOursAsync(AzuriteFixture storage, TestDnsServer dns, TestCertificateAuthority ca, int port, TestSmtpServer sink)
    {
        var counter = new CountingPolicy();
        var account = StorageAccount.FromConnectionString(storage.ConnectionString, counter);
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = storage.ConnectionString,
            ["Dns:Servers"] = dns.EndPoint.ToString(),
            ["Queue:Outbound:Smtp:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Queue:Outbound:Tls:ExtraRootCas"] = ca.PemFile,
            ["Queue:Outbound:AllowPrivateDestinations"] = "true",
            ["Queue:Outbound:Hostname"] = "mta.bench.test",
        }).Build();
        await using var services = new ServiceCollection()
            .AddLogging(l => l.SetMinimumLevel(LogLevel.Warning))
            .AddSingleton(account)
            .AddMtaCore(config)
            .BuildServiceProvider();
        await services.GetRequiredService<StorageInitializer>().EnsureCreatedAsync(CancellationToken.None);
        var handler = services.GetRequiredService<OutboundDeliveryHandler>();
        var writer = account.OutboundWriter();
        var queue = account.Queues.GetQueueClient(StorageNames.OutboundQueue);

        counter.Reset();
        var enqueue = Stopwatch.StartNew();
        var payloads = Enumerable.Range(0, Messages).Select(i => MtaTestHost.Message("app@sender.test", $"user{i}@{Domain}", $"benchmark {i}")).ToList();
        await Parallel.ForEachAsync(Enumerable.Range(0, Messages), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await writer.EnqueueNewAsync(MtaClient.NewMessageId(TimeProvider.System), "app@sender.test", [$"user{i}@{Domain}"], payloads[i], DateTimeOffset.UtcNow, ct));
        enqueue.Stop();
        var producerTransactions = counter.Count;

        // Plays the queue trigger as host.json configures it: batches of 16, handlers run concurrently,
        // each message deleted when its handler returns.
        counter.Reset();
        var before = sink.Inbox.Count;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, 2).Select(async _ =>
        {
            while (sink.Inbox.Count - before < Messages)
            {
                var batch = (await queue.ReceiveMessagesAsync(16, TimeSpan.FromMinutes(5))).Value;
                if (batch.Length == 0)
                {
                    await Task.Delay(50);
                    continue;
                }

                await Task.WhenAll(batch.Select(async m =>
                {
                    await handler.HandleAsync(m.Body.ToString(), m.DequeueCount, CancellationToken.None);
                    await queue.DeleteMessageAsync(m.MessageId, m.PopReceipt);
                }));
            }
        }).ToList();
        await Task.WhenAll(workers);
        clock.Stop();
        var deliveryTransactions = counter.Count;
        var sessions = sink.SessionCount;
        return new OurFigures(
            clock.Elapsed.TotalSeconds, enqueue.Elapsed.TotalSeconds, Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0,
            (double)(deliveryTransactions + producerTransactions) / Messages, (double)deliveryTransactions / Messages,
            (double)producerTransactions / Messages, sessions);
    }

    private static async Task<double> RunPostfixAsync(TestCertificateAuthority ca, int port, TestSmtpServer sink)
    {
        using var postfix = PostfixSender.Start(Domain, "127.0.0.50", port, ca.PemFile, FreePort.Next());
        await Task.Delay(1000);
        var before = sink.Inbox.Count;
        var clock = Stopwatch.StartNew();
        using (var client = new SmtpClient())
        {
            await client.ConnectAsync(postfix.InjectAddress, postfix.InjectPort, SecureSocketOptions.None);
            for (var i = 0; i < Messages; i++)
            {
                var message = MimeMessage.Load(new MemoryStream(MtaTestHost.Message("app@sender.test", $"pf{i}@{Domain}", $"benchmark {i}")));
                await client.SendAsync(message, new MailboxAddress("", "app@sender.test"), [new MailboxAddress("", $"pf{i}@{Domain}")]);
            }

            await client.DisconnectAsync(true);
        }

        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (sink.Inbox.Count - before < Messages && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        clock.Stop();
        if (sink.Inbox.Count - before < Messages)
        {
            throw new InvalidOperationException($"postfix delivered only {sink.Inbox.Count - before} of {Messages} in 5 minutes");
        }

        return clock.Elapsed.TotalSeconds;
    }
}
