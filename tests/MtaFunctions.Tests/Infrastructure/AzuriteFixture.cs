using System.Diagnostics;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using MtaFunctions.Client;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>
/// A private Azurite (blob, queue, table) on random loopback ports, in a temporary folder, for one test class.
/// </summary>
/// <remarks>
/// Started from the repository's node_modules (package.json; <c>npm install</c> brings it), with
/// <c>--skipApiVersionCheck</c> because the SDKs speak a newer API version than Azurite knows.
/// </remarks>
public sealed partial class AzuriteFixture : IAsyncLifetime
{
    private Process? _process;
    private readonly Dictionary<string, long> _requests = new(StringComparer.Ordinal);

    /// <summary>
    /// True = Azurite writes its access log (one line per request), and <see cref="Requests"/> counts them: the
    /// storage operations of every client, the WebJobs queue listener's included.
    /// </summary>
    public bool CountRequests { get; init; }

    /// <summary>The Azurite (node) process id, for CPU accounting.</summary>
    public int ProcessId => _process?.Id ?? 0;

    /// <summary>Connection string with the explicit endpoints of this instance.</summary>
    public string ConnectionString { get; private set; } = "";

    public QueueServiceClient Queues => new(ConnectionString, OutboundQueueWriter.QueueOptions);
    public BlobServiceClient Blobs => new(ConnectionString);
    public TableServiceClient Tables => new(ConnectionString);

    [GeneratedRegex(@"Azurite (Blob|Queue|Table) service is successfully listening at (http://[0-9.:]+)")]
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
        foreach (var arg in new[]
                 {
                     "--skipApiVersionCheck", "--disableTelemetry",
                     "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
                     "--blobPort", "0", "--queuePort", "0", "--tablePort", "0",
                 })
        {
            psi.ArgumentList.Add(arg);
        }

        // Without --silent Azurite writes an access log line per request to stdout.
        if (!CountRequests)
        {
            psi.ArgumentList.Add("--silent");
        }

        _process = Process.Start(psi) ?? throw new InvalidOperationException("azurite did not start");
        var endpoints = new Dictionary<string, string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (endpoints.Count < 3)
        {
            var line = await _process.StandardOutput.ReadLineAsync(timeout.Token)
                ?? throw new InvalidOperationException("azurite exited: " + await _process.StandardError.ReadToEndAsync());
            var match = ListeningLine().Match(line);
            if (match.Success)
            {
                endpoints[match.Groups[1].Value] = match.Groups[2].Value;
            }
        }

        _ = CountRequests ? CountAsync(_process.StandardOutput) : DrainAsync(_process.StandardOutput);
        _ = DrainAsync(_process.StandardError);
        ConnectionString =
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
            "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
            $"BlobEndpoint={endpoints["Blob"]}/devstoreaccount1;QueueEndpoint={endpoints["Queue"]}/devstoreaccount1;" +
            $"TableEndpoint={endpoints["Table"]}/devstoreaccount1;";
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
