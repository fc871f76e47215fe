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

    /// <summary>When set, Azurite writes its debug log here: one line per request it serves (benchmarks count them).</summary>
    public string? DebugLogPath { get; init; }

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
                     "--silent", "--skipApiVersionCheck", "--disableTelemetry",
                     "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
                     "--blobPort", "0", "--queuePort", "0", "--tablePort", "0",
                 })
        {
            psi.ArgumentList.Add(arg);
        }

        if (DebugLogPath is not null)
        {
            psi.ArgumentList.Add("--debug");
            psi.ArgumentList.Add(DebugLogPath);
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

        _ = DrainAsync(_process.StandardOutput);
        _ = DrainAsync(_process.StandardError);
        ConnectionString =
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
            "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
            $"BlobEndpoint={endpoints["Blob"]}/devstoreaccount1;QueueEndpoint={endpoints["Queue"]}/devstoreaccount1;" +
            $"TableEndpoint={endpoints["Table"]}/devstoreaccount1;";
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
