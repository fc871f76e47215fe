using System.Diagnostics;
using System.Text;
using System.Text.Json;
using MtaFunctions.Client;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.LocalHost;

/// <summary>
/// The README's quick start as a new user runs it: <c>npm start</c> (Azurite, smtp4dev, LocalHost) and
/// <c>npm run send-sample</c> (the CLI queues the sample message); the message must show in smtp4dev's API.
/// Everything runs on free loopback ports so that it never meets a developer's own <c>npm start</c>.
/// </summary>
public sealed class DemoPathTests
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    [Fact]
    public async Task NpmStart_ThenSendSample_MessageShowsInSmtp4devApi_StatusShowsTheRoute()
    {
        var (blob, queue, table, smtp, web) = (FreePort.Next(), FreePort.Next(), FreePort.Next(), FreePort.Next(), FreePort.Next());
        var location = Directory.CreateTempSubdirectory("mta-demo").FullName;
        var connection = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
                         $"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;" +
                         $"TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;";
        var environment = new Dictionary<string, string>
        {
            ["AZURITE_BLOB_PORT"] = $"{blob}",
            ["AZURITE_QUEUE_PORT"] = $"{queue}",
            ["AZURITE_TABLE_PORT"] = $"{table}",
            ["AZURITE_LOCATION"] = location,
            ["SMTP4DEV_SMTP_PORT"] = $"{smtp}",
            ["SMTP4DEV_WEB_PORT"] = $"{web}",
            ["MTA_LOCALHOST"] = "1",
            ["LocalHost__Http__Port"] = "0",
        };
        var output = new StringBuilder();
        using var npmStart = Start("npm", ["start"], environment, output);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            await WaitAsync(async () => (await TryGetAsync(http, $"http://127.0.0.1:{web}/api/messages")) is not null, TimeSpan.FromMinutes(6), "smtp4dev's API", npmStart, output);

            var sendOutput = new StringBuilder();
            using var send = Start("npm", ["run", "--silent", "send-sample"], new Dictionary<string, string> { ["AzureWebJobsStorage"] = connection }, sendOutput);
            await send.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4));
            Assert.True(send.ExitCode == 0, $"npm run send-sample failed:\n{sendOutput}");
            var id = sendOutput.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();

            string? messages = null;
            await WaitAsync(
                async () => (messages = await TryGetAsync(http, $"http://127.0.0.1:{web}/api/messages"))?.Contains("Hello from MtaFunctions", StringComparison.Ordinal) == true,
                TimeSpan.FromMinutes(5), "the sample message in smtp4dev", npmStart, output);
            using var json = JsonDocument.Parse(messages!);
            var received = Assert.Single(json.RootElement.GetProperty("results").EnumerateArray());
            Assert.Equal("app@sender.example", received.GetProperty("from").GetString());
            Assert.Equal("someone@example.com", Assert.Single(received.GetProperty("to").EnumerateArray()).GetString());

            var status = await new MtaClient(connection).GetStatusAsync(id);
            var row = Assert.Single(status);
            Assert.Equal("Delivered", row.State);
            Assert.Equal("route", row.PolicyApplied);
        }
        finally
        {
            npmStart.Kill(entireProcessTree: true);
            await npmStart.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static Process Start(string file, string[] args, Dictionary<string, string> environment, StringBuilder output)
    {
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            psi.Environment[key] = value;
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start");
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static async Task<string?> TryGetAsync(HttpClient http, string url)
    {
        try
        {
            return await http.GetStringAsync(url);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan limit, string what, Process npmStart, StringBuilder output)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (npmStart.HasExited)
            {
                Assert.Fail($"npm start exited ({npmStart.ExitCode}) before {what}:\n{output}");
            }

            Assert.True(DateTime.UtcNow < deadline, $"no {what} within {limit.TotalMinutes} minutes; npm start said:\n{output}");
            await Task.Delay(500);
        }
    }
}
