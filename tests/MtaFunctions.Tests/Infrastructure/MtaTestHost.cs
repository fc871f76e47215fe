using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MimeKit;
using MtaFunctions.Client;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>
/// The engine wired as in production (AddMtaCore) against a private Azurite, a loopback DNS server, a test CA
/// and SMTP servers on loopback addresses sharing one port; plus a pump that plays the queue trigger.
/// </summary>
public sealed class MtaTestHost : IAsyncDisposable
{
    private readonly List<TestSmtpServer> _servers = [];

    private MtaTestHost(AzuriteFixture storage, TestDnsServer dns, TestCertificateAuthority ca, int smtpPort, ServiceProvider services)
    {
        Storage = storage;
        Dns = dns;
        Ca = ca;
        SmtpPort = smtpPort;
        Services = services;
    }

    public AzuriteFixture Storage { get; }
    public TestDnsServer Dns { get; }
    public TestCertificateAuthority Ca { get; }
    public int SmtpPort { get; }
    public ServiceProvider Services { get; }

    /// <summary>Every message any test SMTP server of this host accepted.</summary>
    public ConcurrentQueue<ReceivedMail> Inbox { get; } = new();

    public OutboundDeliveryHandler Handler => Services.GetRequiredService<OutboundDeliveryHandler>();
    public MtaClient Client => new(Storage.ConnectionString);
    public QueueClient OutboundQueue => Storage.Queues.GetQueueClient(StorageNames.OutboundQueue);
    public QueueClient PoisonQueue => Storage.Queues.GetQueueClient(StorageNames.OutboundPoisonQueue);

    /// <summary>Builds a host; <paramref name="settings"/> override the test defaults.</summary>
    public static Task<MtaTestHost> StartAsync(AzuriteFixture storage, params (string Key, string Value)[] settings) =>
        StartAsync(storage, null, settings);

    /// <summary>Builds a host; <paramref name="configureServices"/> runs before AddMtaCore (e.g. a FakeTimeProvider).</summary>
    public static async Task<MtaTestHost> StartAsync(
        AzuriteFixture storage, Action<IServiceCollection>? configureServices, params (string Key, string Value)[] settings)
    {
        var dns = new TestDnsServer();
        var ca = new TestCertificateAuthority();
        var port = FreePort.Next();
        var values = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = storage.ConnectionString,
            ["Dns:Servers"] = dns.EndPoint.ToString(),
            ["Dns:Timeout"] = "2s",
            ["Queue:Outbound:Smtp:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Queue:Outbound:Tls:ExtraRootCas"] = ca.PemFile,
            ["Queue:Outbound:AllowPrivateDestinations"] = "true",
            ["Queue:Outbound:Hostname"] = "mta.sender.test",
            ["Queue:Outbound:Retry:Schedule"] = "1s",
            ["Queue:Outbound:Timeout:Connect"] = "3s",
            ["Queue:Outbound:Timeout:Command"] = "20s",
        };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        var config = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = BuildServices(config, configureServices);
        var host = new MtaTestHost(storage, dns, ca, port, services) { Configuration = config };
        await services.GetRequiredService<StorageInitializer>().EnsureCreatedAsync(CancellationToken.None);
        await host.ClearQueuesAsync();
        return host;
    }

    /// <summary>
    /// Settings for a LocalHost child process (<see cref="KillableLocalHost"/>) that delivers with this host's
    /// storage, DNS, SMTP port and CA, as a second instance of the same deployment would.
    /// </summary>
    public Dictionary<string, string> LocalHostSettings() => new()
    {
        ["AzureWebJobsStorage"] = Storage.ConnectionString,
        ["Dns:Servers"] = Dns.EndPoint.ToString(),
        ["Queue:Outbound:Smtp:Port"] = SmtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Queue:Outbound:Tls:ExtraRootCas"] = Ca.PemFile,
        ["Queue:Outbound:AllowPrivateDestinations"] = "true",
        ["Queue:Outbound:Hostname"] = "mta.sender.test",
        ["LocalHost:Http:Port"] = "0",
    };

    /// <summary>The configuration the host was built with.</summary>
    public IConfiguration Configuration { get; private init; } = null!;

    /// <summary>Another engine instance (as a second Function App instance would be) on the same storage, DNS and settings.</summary>
    public ServiceProvider NewInstance(Action<IServiceCollection>? configureServices = null) => BuildServices(Configuration, configureServices);

    private static ServiceProvider BuildServices(IConfiguration config, Action<IServiceCollection>? configureServices)
    {
        var collection = new ServiceCollection().AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        configureServices?.Invoke(collection);
        return collection.AddMtaCore(config).BuildServiceProvider();
    }

    /// <summary>Starts an SMTP server on <paramref name="ip"/> (STARTTLS when given a certificate).</summary>
    public TestSmtpServer AddSmtpServer(string ip, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
    {
        var server = new TestSmtpServer(IPAddress.Parse(ip), SmtpPort, certificate, Inbox);
        _servers.Add(server);
        return server;
    }

    /// <summary>DNS for a destination domain with one MX host at <paramref name="ip"/>.</summary>
    public void AddDomain(string domain, string mxHost, string ip, ushort preference = 10)
    {
        Dns.Mx(domain, preference, mxHost);
        if (!string.IsNullOrEmpty(ip))
        {
            Dns.A(mxHost, ip);
        }
    }

    /// <summary>A small RFC 5322 message.</summary>
    public static byte[] Message(string from, string to, string subject = "test", string? extraHeaders = null, string body = "Hello.\r\n") =>
        Encoding.ASCII.GetBytes(
            $"From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\n" +
            $"Message-ID: <{Guid.NewGuid():N}@sender.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n" +
            $"{extraHeaders}\r\n{body}");

    /// <summary>Queues a raw message through the client API, as a producer would.</summary>
    public async Task<string> SendAsync(string from, IEnumerable<string> to, byte[] message) =>
        await Client.SendAsync(new MemoryStream(message), from, to);

    /// <summary>
    /// Plays the queue trigger: hands every visible message to the handler and deletes it when the handler
    /// returns, until the queue stays empty (waiting up to <paramref name="maxWait"/> for delayed retries).
    /// </summary>
    /// <returns>How many queue messages were handled.</returns>
    public async Task<int> PumpAsync(TimeSpan? maxWait = null, Func<bool>? until = null)
    {
        var deadline = DateTime.UtcNow + (maxWait ?? TimeSpan.FromSeconds(1));
        var handled = 0;
        while (true)
        {
            var batch = (await OutboundQueue.ReceiveMessagesAsync(16, TimeSpan.FromMinutes(2))).Value;
            foreach (var message in batch)
            {
                await Handler.HandleAsync(message.Body.ToString(), message.DequeueCount, CancellationToken.None);
                await OutboundQueue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
                handled++;
            }

            if (until?.Invoke() == true)
            {
                return handled;
            }

            if (batch.Length == 0)
            {
                var pending = (await OutboundQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount;
                if (pending == 0 || DateTime.UtcNow > deadline)
                {
                    return handled;
                }

                await Task.Delay(200);
            }
        }
    }

    /// <summary>The delivery rows of a message, by recipient.</summary>
    public async Task<Dictionary<string, DeliveryRecord>> StatusAsync(string id) =>
        (await Client.GetStatusAsync(id)).ToDictionary(r => r.Recipient, StringComparer.OrdinalIgnoreCase);

    public async Task ClearQueuesAsync()
    {
        await OutboundQueue.ClearMessagesAsync();
        await PoisonQueue.ClearMessagesAsync();
    }

    /// <summary>The messages of the poison queue.</summary>
    public async Task<List<PoisonRecord>> PoisonedAsync()
    {
        var messages = (await PoisonQueue.PeekMessagesAsync(32)).Value;
        return messages.Select(m => System.Text.Json.JsonSerializer.Deserialize<PoisonRecord>(m.Body.ToString())!).ToList();
    }

    public static MimeMessage Parse(byte[] data) => MimeMessage.Load(new MemoryStream(data));

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        Dns.Dispose();
        Ca.Dispose();
        await Services.DisposeAsync();
    }
}
