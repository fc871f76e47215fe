using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using MimeKit;
using MtaFunctions.Core;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Storage;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Policy.MtaSts;

/// <summary>
/// One MTA-STS scenario on loopback: a test CA, a DNS server, a Kestrel policy server, SMTP servers for MX
/// hosts, and the app's services built by AddMtaCore over Azurite with a fake clock.
/// </summary>
public sealed class StsWorld : IAsyncDisposable
{
    private readonly List<TestSmtpServer> _smtp = [];
    private readonly List<ServiceProvider> _providers = [];
    private int _nextIp = 10;

    public StsWorld(AzuriteFixture azurite) => Azurite = azurite;

    public AzuriteFixture Azurite { get; }
    public TestCertificateAuthority Ca { get; } = new();
    public TestDnsServer Dns { get; } = new();
    public TestPolicyServer Https { get; } = new();
    public int SmtpPort { get; } = FreePort.Next();
    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);
    public ConcurrentQueue<ReceivedMail> Inbox { get; } = new();

    /// <summary>Builds the app's services (a new instance: empty memory cache, same table).</summary>
    public async Task<ServiceProvider> ServicesAsync(params (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = Azurite.ConnectionString,
            ["Dns:Servers"] = Dns.EndPoint.ToString(),
            ["Queue:Outbound:Smtp:Port"] = SmtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Queue:Outbound:Tls:ExtraRootCas"] = Ca.PemFile,
            ["Queue:Outbound:AllowPrivateDestinations"] = "true",
            ["Queue:Outbound:Hostname"] = "mta.sender.test",
            ["Queue:Outbound:MtaSts:Port"] = Https.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Queue:Outbound:Timeout:Connect"] = "5s",
            ["Dns:Timeout"] = "2s",

            // These tests change TXT records between calls and move a fake clock, which DnsClient's cache does
            // not follow: every lookup goes to the test server.
            ["Dns:CacheMaxTtl"] = "0",
        };
        foreach (var (key, value) in Reporting.Outbound.TestDkimKeys.Settings("rsa"))
        {
            values[key] = value;
        }

        values["Report:Tls:Aggregate:Send"] = "daily";
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        var config = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton<TimeProvider>(Time).AddMtaCore(config).BuildServiceProvider();
        _providers.Add(services);
        await services.GetRequiredService<StorageInitializer>().EnsureCreatedAsync(TestContext.Current.CancellationToken);
        return services;
    }

    /// <summary>Publishes <c>_mta-sts.&lt;domain&gt;</c> with <paramref name="id"/> and serves <paramref name="policy"/>.</summary>
    public void Publish(string domain, string id, string policy)
    {
        Txt(domain, id);
        Dns.A($"mta-sts.{domain}", "127.0.0.1");
        Https.Serve(Ca, domain, PolicyAnswer.Ok(policy));
    }

    /// <summary>Replaces the TXT record of <paramref name="domain"/>.</summary>
    public void Txt(string domain, string id)
    {
        Dns.Clear($"_mta-sts.{domain}", ARSoft.Tools.Net.Dns.RecordType.Txt);
        Dns.Txt($"_mta-sts.{domain}", $"v=STSv1; id={id};");
    }

    /// <summary>Adds an MX host with its own loopback address and SMTP server (STARTTLS with a CA certificate unless told otherwise).</summary>
    public TestSmtpServer Mx(
        string domain, string host, ushort preference = 10, bool tls = true, bool trusted = true, string? certificateName = null,
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null)
    {
        var ip = $"127.0.0.{Interlocked.Increment(ref _nextIp)}";
        Dns.Mx(domain, preference, host).A(host, ip);
        certificate ??= !tls ? null : trusted ? Ca.IssueServer([certificateName ?? host]) : TestCertificateAuthority.SelfSigned(host);
        var server = new TestSmtpServer(IPAddress.Parse(ip), SmtpPort, certificate, Inbox);
        _smtp.Add(server);
        return server;
    }

    /// <summary>A small message.</summary>
    public static MimeMessage Message(string to)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("app@sender.test"));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = "sts";
        message.Body = new TextPart("plain") { Text = "hello" };
        return message;
    }

    /// <summary>Sessions recorded for TLS-RPT so far.</summary>
    public static IReadOnlyDictionary<TlsSessionKey, long> Recorded(IServiceProvider services) =>
        services.GetRequiredService<TlsSessionCounter>().Peek();

    public async ValueTask DisposeAsync()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        foreach (var server in _smtp)
        {
            await server.DisposeAsync();
        }

        await Https.DisposeAsync();
        Dns.Dispose();
        Ca.Dispose();
    }
}
