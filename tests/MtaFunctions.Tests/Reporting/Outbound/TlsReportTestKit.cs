using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MimeKit;
using MimeKit.Cryptography;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Storage;
using MtaFunctions.Tests.Infrastructure;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;

namespace MtaFunctions.Tests.Reporting.Outbound;

/// <summary>DKIM keys made by the test, with their DNS key records.</summary>
internal static class TestDkimKeys
{
    public static readonly (string Pem, string KeyRecord) Rsa = MakeRsa();
    public static readonly (string Pem, string KeyRecord) Ed25519 = MakeEd25519();

    /// <summary>Settings defining signatures "rsa" (selector rsa1) and "ed" (selector ed1) for d=mta.sender.test.</summary>
    public static (string Key, string Value)[] Settings(string sign = "rsa,ed") =>
    [
        ("Report:Tls:Aggregate:Sign", sign),
        ("Report:Dkim:rsa:Domain", "mta.sender.test"),
        ("Report:Dkim:rsa:Selector", "rsa1"),
        ("Report:Dkim:rsa:Algorithm", "rsa-sha256"),
        ("Report:Dkim:rsa:PrivateKey", Rsa.Pem),
        ("Report:Dkim:ed:Domain", "mta.sender.test"),
        ("Report:Dkim:ed:Selector", "ed1"),
        ("Report:Dkim:ed:Algorithm", "ed25519-sha256"),
        ("Report:Dkim:ed:PrivateKey", Ed25519.Pem),
    ];

    /// <summary>The verifier's view of DNS: <c>selector._domainkey.domain</c> → key record.</summary>
    public static DkimVerifier Verifier() => new(new Locator(new Dictionary<string, string>
    {
        ["rsa1._domainkey.mta.sender.test"] = Rsa.KeyRecord,
        ["ed1._domainkey.mta.sender.test"] = Ed25519.KeyRecord,
    }));

    private static (string, string) MakeRsa()
    {
        using var rsa = RSA.Create(2048);
        return (rsa.ExportPkcs8PrivateKeyPem(), $"v=DKIM1; k=rsa; s=tlsrpt; p={Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo())}");
    }

    private static (string, string) MakeEd25519()
    {
        var generator = new Ed25519KeyPairGenerator();
        generator.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
        var pair = generator.GenerateKeyPair();
        var pkcs8 = PrivateKeyInfoFactory.CreatePrivateKeyInfo(pair.Private).GetEncoded();
        var pem = "-----BEGIN PRIVATE KEY-----\n" + Convert.ToBase64String(pkcs8, Base64FormattingOptions.InsertLineBreaks) + "\n-----END PRIVATE KEY-----\n";
        var raw = ((Ed25519PublicKeyParameters)pair.Public).GetEncoded();
        return (pem, $"v=DKIM1; k=ed25519; s=tlsrpt; p={Convert.ToBase64String(raw)}");
    }

    private sealed class Locator(Dictionary<string, string> records) : DkimPublicKeyLocatorBase
    {
        public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            GetPublicKey(records[$"{selector}._domainkey.{domain}"]);

        public override Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            Task.FromResult(LocatePublicKey(methods, domain, selector, cancellationToken));
    }
}

/// <summary>An https rua endpoint on loopback (Kestrel), answering with a status the test sets.</summary>
public sealed class TestReportEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestReportEndpoint(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Status codes to answer, in order; the last one repeats.</summary>
    public ConcurrentQueue<int> Statuses { get; } = new();

    /// <summary>Every POST: content type and body.</summary>
    public ConcurrentQueue<(string? ContentType, byte[] Body)> Received { get; } = new();

    public static async Task<TestReportEndpoint> StartAsync(X509Certificate2 certificate)
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.UseHttps(certificate)));
        var app = builder.Build();
        TestReportEndpoint? endpoint = null;
        app.MapPost("/v1/tlsrpt", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            endpoint!.Received.Enqueue((request.ContentType, body.ToArray()));
            var status = endpoint.Statuses.Count > 1 && endpoint.Statuses.TryDequeue(out var s) ? s
                : endpoint.Statuses.TryPeek(out var last) ? last : 200;
            return Results.StatusCode(status);
        });
        endpoint = new TestReportEndpoint(app, port);
        await app.StartAsync();
        return endpoint;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Resets the reporting tables between tests of one Azurite.</summary>
internal static class ReportingTables
{
    public static async Task ResetAsync(AzuriteFixture storage)
    {
        foreach (var name in new[] { StorageNames.TlsResultsTable, StorageNames.SentTlsReportsTable })
        {
            var table = storage.Tables.GetTableClient(name);
            await table.CreateIfNotExistsAsync();
            var rows = new List<TableEntity>();
            await foreach (var row in table.QueryAsync<TableEntity>(select: ["PartitionKey", "RowKey"]))
            {
                rows.Add(row);
            }

            foreach (var row in rows)
            {
                await table.DeleteEntityAsync(row.PartitionKey, row.RowKey);
            }
        }
    }

    /// <summary>The rua rows of every period.</summary>
    public static async Task<List<TlsReportDelivery>> DeliveriesAsync(AzuriteFixture storage)
    {
        var list = new List<TlsReportDelivery>();
        await foreach (var row in storage.Tables.GetTableClient(StorageNames.SentTlsReportsTable)
                           .QueryAsync<TlsReportDelivery>(filter: "State ne ''"))
        {
            if (row.PartitionKey.EndsWith("-rua", StringComparison.Ordinal))
            {
                list.Add(row);
            }
        }

        return list;
    }

    /// <summary>Every MIME message waiting on the outbound queue.</summary>
    public static MimeMessage ParseQueued(string body)
    {
        var envelope = EnvelopeSerializer.Parse(body);
        return MimeMessage.Load(new MemoryStream(Convert.FromBase64String(envelope.Message!)));
    }
}
