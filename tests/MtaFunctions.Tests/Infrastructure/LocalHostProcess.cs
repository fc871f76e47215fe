using System.Diagnostics;
using System.Globalization;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>
/// The app's LocalHost as a child process (its own runtime and GC settings, e.g. a heap limit), serving HTTP on
/// a loopback port, with its settings in the environment.
/// </summary>
public sealed class LocalHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _folder;

    private LocalHostProcess(Process process, DirectoryInfo folder, int port)
    {
        _process = process;
        _folder = folder;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
    }

    /// <summary>Where it serves.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The process id (CPU accounting).</summary>
    public int ProcessId => _process.Id;

    /// <summary>True while the process runs.</summary>
    public bool IsRunning => !_process.HasExited;

    /// <summary>CPU time the host has used so far (benchmarks: where the time goes).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>Peak resident memory of the process so far (VmHWM), in bytes.</summary>
    public long PeakResidentBytes
    {
        get
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                }
            }

            return 0;
        }
    }

    /// <summary>What it wrote to stderr and stdout (the last lines).</summary>
    public string Output => string.Join('\n', _output.TakeLast(40));

    private readonly List<string> _output = [];

    /// <summary>Starts <paramref name="dll"/> (default: the LocalHost built beside the tests) and waits until it answers.</summary>
    public static async Task<LocalHostProcess> StartAsync(IReadOnlyDictionary<string, string> environment, string? dll = null)
    {
        dll ??= Path.Combine(AppContext.BaseDirectory, "MtaFunctions.LocalHost.dll");
        var port = FreePort.Next();
        var folder = Directory.CreateTempSubdirectory("localhost-process");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = folder.FullName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(dll);
        start.Environment["LocalHost__Http__Port"] = port.ToString(CultureInfo.InvariantCulture);
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var host = new LocalHostProcess(process, folder, port);
        process.OutputDataReceived += (_, e) => host.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => host.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        for (var i = 0; i < 600; i++)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"LocalHost exited with {process.ExitCode}: {host.Output}");
            }

            try
            {
                using var response = await http.GetAsync("api/tlsrpt/dashboard");
                if (response.IsSuccessStatusCode)
                {
                    return host;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        await host.DisposeAsync();
        throw new TimeoutException("LocalHost did not answer within a minute: " + host.Output);
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add(line);
            if (_output.Count > 400)
            {
                _output.RemoveRange(0, 200);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            _folder.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
