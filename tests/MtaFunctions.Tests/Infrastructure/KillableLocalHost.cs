using System.Diagnostics;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>
/// The LocalHost (WebJobs SDK host of the delivery handlers) as a separate OS process, so a test can kill it
/// with SIGKILL: no cancellation, no finally blocks, no graceful shutdown.
/// </summary>
public sealed class KillableLocalHost : IDisposable
{
    private readonly Process _process;
    private readonly StringWriterLog _log = new();

    private KillableLocalHost(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => _log.Add(e.Data);
        process.ErrorDataReceived += (_, e) => _log.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>What the process wrote (for failure messages).</summary>
    public string Output => _log.ToString();

    public bool HasExited => _process.HasExited;

    /// <summary>Starts the LocalHost next to the test assembly with <paramref name="settings"/> as --Key=Value arguments.</summary>
    public static KillableLocalHost Start(IEnumerable<KeyValuePair<string, string>> settings)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "MtaFunctions.LocalHost.dll");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Directory.CreateTempSubdirectory("localhost").FullName,
        };
        info.ArgumentList.Add(dll);
        foreach (var (key, value) in settings)
        {
            info.ArgumentList.Add($"--{key}={value}");
        }

        info.Environment["Logging__LogLevel__Default"] = "Warning";
        return new KillableLocalHost(Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start"));
    }

    /// <summary>SIGKILL (Process.Kill on Unix), then waits for the process to be gone.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit();
    }

    /// <summary>SIGTERM, as a platform scaling in or redeploying asks: a graceful stop. Waits for the exit.</summary>
    /// <returns>The exit code.</returns>
    public int StopGracefully(TimeSpan limit)
    {
        if (!_process.HasExited)
        {
            using var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            term.WaitForExit();
        }

        if (!_process.WaitForExit(limit))
        {
            throw new TimeoutException($"LocalHost did not stop within {limit.TotalSeconds:0}s of SIGTERM:\n{Output}");
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        KillHard();
        _process.Dispose();
    }

    private sealed class StringWriterLog
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

        public void Add(string? line)
        {
            if (line is not null && _lines.Count < 2000)
            {
                _lines.Enqueue(line);
            }
        }

        public override string ToString() => string.Join('\n', _lines);
    }
}
