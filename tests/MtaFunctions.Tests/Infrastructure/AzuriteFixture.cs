using System.Diagnostics;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using MtaFunctions.Client;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>How an <see cref="AzuriteFixture"/> starts Azurite.</summary>
public sealed record AzuriteOptions
{
    /// <summary>Plain HTTP, shared keys (the connection string): what most tests use.</summary>
    public static AzuriteOptions Default { get; } = new();

    /// <summary><c>--oauth basic</c>: bearer tokens only (lifetime, issuer and audience checked, the signature not). Needs <see cref="Https"/>.</summary>
    public bool OAuth { get; init; }

    /// <summary>PEM certificate and private key files: Azurite serves HTTPS with them.</summary>
    public (string CertificateFile, string KeyFile)? Https { get; init; }

    /// <summary><c>--inMemoryPersistence</c>: nothing written to disk (a benchmark's stand-in for a storage service that runs elsewhere).</summary>
    public bool InMemory { get; init; }

    /// <summary>The host name in <see cref="AzuriteFixture.Endpoints"/> (the certificate's name); Azurite listens on 127.0.0.1.</summary>
    public string HostName { get; init; } = "127.0.0.1";
}

/// <summary>
/// A private Azurite (blob, queue, table) on random loopback ports, in a temporary folder, for one test class.
/// </summary>
/// <remarks>
/// Started from the repository's node_modules (package.json; <c>npm install</c> brings it), with
/// <c>--skipApiVersionCheck</c> because the SDKs speak a newer API version than Azurite knows.
/// </remarks>
public sealed partial class AzuriteFixture : IAsyncLifetime
{
    private readonly AzuriteOptions _options;
    private Process? _process;
    private readonly Dictionary<string, long> _requests = new(StringComparer.Ordinal);

    /// <summary>
    /// True = Azurite writes its access log (one line per request), and <see cref="Requests"/> counts them: the
    /// storage operations of every client, the WebJobs queue listener's included.
    /// </summary>
    public bool CountRequests { get; init; }

    /// <summary>The Azurite (node) process id, for CPU accounting.</summary>
    public int ProcessId => _process?.Id ?? 0;

    /// <summary>The default instance (what class fixtures get).</summary>
    public AzuriteFixture()
        : this(AzuriteOptions.Default)
    {
    }

    /// <summary>An instance started with <paramref name="options"/> (one public constructor only: xunit builds fixtures).</summary>
    internal AzuriteFixture(AzuriteOptions options) => _options = options;

    /// <summary>An instance for code outside the tests (benchmarks) started with <paramref name="options"/>.</summary>
    public static AzuriteFixture Create(AzuriteOptions options, bool countRequests) => new(options) { CountRequests = countRequests };

    /// <summary>The service endpoints by name (Blob, Queue, Table), account path included.</summary>
    public IReadOnlyDictionary<string, Uri> Endpoints { get; private set; } = new Dictionary<string, Uri>();

    /// <summary>Connection string with the explicit endpoints of this instance.</summary>
    public string ConnectionString { get; private set; } = "";

    public QueueServiceClient Queues => new(ConnectionString, OutboundQueueWriter.QueueOptions);
    public BlobServiceClient Blobs => new(ConnectionString);
    public TableServiceClient Tables => new(ConnectionString);

    /// <summary>CPU time Azurite has used so far (benchmarks: where the time goes).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process!.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    [GeneratedRegex(@"Azurite (Blob|Queue|Table) service is successfully listening at (https?://[0-9a-z.:]+)")]
    private static partial Regex ListeningLine();

    public async ValueTask InitializeAsync()
    {
        var azurite = Path.Combine(RepoPaths.Root, "node_modules", ".bin", "azurite");
        if (!File.Exists(azurite))
        {
            throw new InvalidOperationException($"{azurite} is missing: run 'npm install' at the repository root");
        }

        var psi = new ProcessStartInfo(azurite)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Directory.CreateTempSubdirectory("azurite").FullName,
        };
        var args = new List<string>
        {
            "--skipApiVersionCheck", "--disableTelemetry",
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", "0", "--queuePort", "0", "--tablePort", "0",
        };
        if (_options.InMemory)
        {
            args.Add("--inMemoryPersistence");
        }

        if (_options.OAuth)
        {
            args.AddRange(["--oauth", "basic"]);
        }

        if (_options.Https is var (certificate, key))
        {
            args.AddRange(["--cert", certificate, "--key", key]);
        }

        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        // Without --silent Azurite writes an access log line per request to stdout.
        if (!CountRequests)
        {
            psi.ArgumentList.Add("--silent");
        }

        _process = Process.Start(psi) ?? throw new InvalidOperationException("azurite did not start");
        var endpoints = new Dictionary<string, Uri>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (endpoints.Count < 3)
        {
            var line = await _process.StandardOutput.ReadLineAsync(timeout.Token)
                ?? throw new InvalidOperationException("azurite exited: " + await _process.StandardError.ReadToEndAsync());
            var match = ListeningLine().Match(line);
            if (match.Success)
            {
                var listening = new Uri(match.Groups[2].Value);
                endpoints[match.Groups[1].Value] = new Uri($"{listening.Scheme}://{_options.HostName}:{listening.Port}/devstoreaccount1");
            }
        }

        _ = CountRequests ? CountAsync(_process.StandardOutput) : DrainAsync(_process.StandardOutput);
        _ = DrainAsync(_process.StandardError);
        Endpoints = endpoints;
        ConnectionString =
            $"DefaultEndpointsProtocol={endpoints["Blob"].Scheme};AccountName=devstoreaccount1;" +
            "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
            $"BlobEndpoint={endpoints["Blob"]};QueueEndpoint={endpoints["Queue"]};TableEndpoint={endpoints["Table"]};";
    }

    [GeneratedRegex("\"([A-Z]+) /[^/ ]+/([^/?( ]*)")]
    private static partial Regex AccessLogRequest();

    /// <summary>Requests so far by method and first path segment (queue, table or container), e.g. "GET Deliveries".</summary>
    public IReadOnlyDictionary<string, long> Requests
    {
        get
        {
            lock (_requests)
            {
                return new Dictionary<string, long>(_requests);
            }
        }
    }

    /// <summary>Forgets the requests counted so far.</summary>
    public void ResetRequests()
    {
        lock (_requests)
        {
            _requests.Clear();
        }
    }

    private async Task CountAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            if (AccessLogRequest().Match(line) is { Success: true } match)
            {
                var key = $"{match.Groups[1].Value} {match.Groups[2].Value}";
                lock (_requests)
                {
                    _requests[key] = _requests.GetValueOrDefault(key) + 1;
                }
            }
        }
    }

    private static async Task DrainAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is not null)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process?.Dispose();
        return ValueTask.CompletedTask;
    }
}
