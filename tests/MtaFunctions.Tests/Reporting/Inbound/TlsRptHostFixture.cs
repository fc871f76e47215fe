using System.IO.Compression;
using System.Net.Http.Headers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Storage;
using MtaFunctions.LocalHost;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Reporting.Inbound;

/// <summary>
/// A private Azurite and the app's own LocalHost (WebJobs + Kestrel on a random loopback port) serving the
/// TLS-RPT routes, with small limits so that the size tests stay quick.
/// </summary>
public sealed class TlsRptHostFixture : IAsyncLifetime
{
    /// <summary>Our domains in these tests.</summary>
    public const string Domains = "mta.example,company-y.example,summary.example,alarm.example,dash.example,mail.example,defence.example,test.xmox.nl,example.org,example.com";

    public const int MaxBodySize = 64 * 1024;
    public const int MaxReportSize = 1024 * 1024;
    public const int MaxMessageSize = 256 * 1024;

    private readonly List<IHost> _hosts = [];

    public AzuriteFixture Azurite { get; } = new();

    /// <summary>The host without a key.</summary>
    public IHost Host { get; private set; } = null!;

    /// <summary>A client of <see cref="Host"/>.</summary>
    public HttpClient Http { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        await Azurite.InitializeAsync();
        Host = await StartHostAsync();
        Http = new HttpClient { BaseAddress = LocalHttpHost.BaseAddress(Host) };
    }

    /// <summary>Starts one more LocalHost on the same Azurite, with extra settings.</summary>
    public async Task<IHost> StartHostAsync(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = Azurite.ConnectionString,
            [SettingKeys.TlsRptInboundDomains] = Domains,
            [SettingKeys.TlsRptInboundMaxBodySize] = MaxBodySize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [SettingKeys.TlsRptInboundMaxReportSize] = MaxReportSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [SettingKeys.TlsRptInboundMaxMessageSize] = MaxMessageSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [SettingKeys.TlsRptInboundFailureRateWarning] = "10",
            [SettingKeys.LocalHostHttpPort] = "0",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        var host = LocalHostBuilder.Build([], Directory.CreateTempSubdirectory("localhost").FullName, c => c.AddInMemoryCollection(settings));
        await host.Services.GetRequiredService<StorageInitializer>().EnsureCreatedAsync(CancellationToken.None);
        await host.StartAsync();
        _hosts.Add(host);
        return host;
    }

    /// <summary>POSTs <paramref name="body"/> to <paramref name="path"/> with a media type.</summary>
    public static async Task<(int Status, string Body)> PostAsync(HttpClient http, string path, byte[] body, string? mediaType)
    {
        using var content = new ByteArrayContent(body);
        if (mediaType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(mediaType);
        }

        using var response = await http.PostAsync(path, content);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Gzip of <paramref name="data"/>.</summary>
    public static byte[] Gzip(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return buffer.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        foreach (var host in _hosts)
        {
            await host.StopAsync();
            host.Dispose();
        }

        await Azurite.DisposeAsync();
    }
}
