using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>
/// A private Debian Postfix instance: its own config, queue and data directories under a temporary folder,
/// run with <c>postfix -c</c>. The tests' receiving MX (<see cref="PostfixReceiver"/>) and the benchmarks'
/// sender and sink are each one of these with their own main.cf lines and listeners.
/// </summary>
/// <remarks>
/// Postfix reads DNS through the C library, which knows only port 53 and /etc/resolv.conf: an instance given
/// a resolver runs in a private mount namespace where its own resolv.conf is bound over /etc/resolv.conf, so
/// the machine's resolver stays untouched.
/// </remarks>
public sealed class PostfixInstance : IDisposable
{
    private bool _started;

    private PostfixInstance(string directory) => Directory = directory;

    /// <summary>The instance's folder: etc/ (main.cf, master.cf), queue/, data/ and whatever its user adds.</summary>
    public string Directory { get; }

    /// <summary>Its config directory, for <c>postfix -c</c>, <c>postqueue -c</c> and <c>postconf -c</c>.</summary>
    public string ConfigDirectory => Path.Combine(Directory, "etc");

    /// <summary>Whether Postfix can run here: root and Debian's postfix package.</summary>
    public static bool IsAvailable => !OperatingSystem.IsWindows() && File.Exists("/usr/sbin/postfix") && Environment.UserName == "root";

    /// <summary>The services every instance runs besides its own listeners (Debian's master.cf, unchrooted).</summary>
    public static IReadOnlyList<string> BaseServices { get; } =
    [
        "pickup unix n - n 60 1 pickup", "cleanup unix n - n - 0 cleanup", "qmgr unix n - n 300 1 qmgr",
        "tlsmgr unix - - n 1000? 1 tlsmgr", "rewrite unix - - n - - trivial-rewrite", "bounce unix - - n - 0 bounce",
        "defer unix - - n - 0 bounce", "trace unix - - n - 0 bounce", "verify unix - - n - 1 verify",
        "flush unix n - n 1000? 0 flush", "proxymap unix - - n - - proxymap", "smtp unix - - n - - smtp",
        "relay unix - - n - - smtp", "showq unix n - n - - showq", "error unix - - n - - error",
        "retry unix - - n - - error", "discard unix - - n - - discard", "local unix - n n - - local",
        "virtual unix - n n - - virtual", "anvil unix - - n - 1 anvil", "scache unix - - n - 1 scache",
        "postlog unix-dgram n - n - 1 postlogd",
    ];

    /// <summary>Creates the folder (readable by the postfix user) with etc/, queue/ and data/.</summary>
    /// <exception cref="InvalidOperationException">Postfix cannot run here; the message says what is missing.</exception>
    public static PostfixInstance Create(string prefix)
    {
        if (!IsAvailable || OperatingSystem.IsWindows())
        {
            throw new InvalidOperationException("Postfix needs root and the Debian postfix package (tests/apt-packages.txt)");
        }

        var dir = System.IO.Directory.CreateTempSubdirectory(prefix).FullName;

        // Postfix daemons run as the postfix user and must reach the queue below this folder.
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                                  | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        foreach (var sub in new[] { "etc", "queue", "data" })
        {
            System.IO.Directory.CreateDirectory(Path.Combine(dir, sub));
        }

        return new PostfixInstance(dir);
    }

    /// <summary>
    /// Writes main.cf (the instance's own directories and log, then <paramref name="mainCf"/>) and master.cf
    /// (<paramref name="listeners"/>, then <see cref="BaseServices"/>), and starts Postfix.
    /// </summary>
    /// <param name="mainCf">main.cf lines of this use (host name, restrictions, transports...).</param>
    /// <param name="listeners">master.cf lines of its listeners and extra transports.</param>
    /// <param name="resolver">A resolver on port 53 (its address) that Postfix's DNS lookups go to; null = the machine's.</param>
    public void Start(string mainCf, IEnumerable<string> listeners, IPAddress? resolver = null)
    {
        File.WriteAllText(Path.Combine(ConfigDirectory, "main.cf"), $"""
            compatibility_level = 3.6
            queue_directory = {Directory}/queue
            data_directory = {Directory}/data
            mail_owner = postfix
            setgid_group = postdrop
            inet_protocols = ipv4
            alias_maps =
            alias_database =
            maillog_file = {Directory}/maillog
            maillog_file_prefixes = {Directory}
            biff = no

            """ + mainCf.Trim() + "\n");
        File.WriteAllText(Path.Combine(ConfigDirectory, "master.cf"), string.Join('\n', listeners.Concat(BaseServices)) + "\n");
        Run("chown", $"postfix {Directory}/data");
        Run("postfix", $"-c {ConfigDirectory} check");
        if (resolver is null)
        {
            Run("postfix", $"-c {ConfigDirectory} start");
        }
        else
        {
            // trust-ad: glibc passes the resolver's AD flag on only when told to (Postfix DANE needs it).
            var resolvConf = Path.Combine(Directory, "resolv.conf");
            File.WriteAllText(resolvConf, $"nameserver {resolver}\noptions trust-ad\n");
            Run("unshare", $"--mount --propagation private sh -c \"mount --bind {resolvConf} /etc/resolv.conf && exec postfix -c {ConfigDirectory} start\"");
        }

        _started = true;
    }

    /// <summary>Stops the instance (its queue stays).</summary>
    public void Stop()
    {
        if (_started)
        {
            _started = false;
            Run("postfix", $"-c {ConfigDirectory} stop");
        }
    }

    /// <summary>Runs a Postfix command against this instance, e.g. <c>postqueue -f</c>.</summary>
    public void Command(string file, string args) => Run(file, $"-c {ConfigDirectory} {args}");

    /// <summary>The master daemon's process id (CPU accounting).</summary>
    /// <remarks>Read by cat: master holds a lock on its pid file, and .NET's own reads take a shared lock that fails on it.</remarks>
    public int MasterPid
    {
        get
        {
            using var cat = Process.Start(new ProcessStartInfo("cat", Path.Combine(Directory, "queue", "pid", "master.pid")) { RedirectStandardOutput = true })!;
            var text = cat.StandardOutput.ReadToEnd();
            cat.WaitForExit();
            return int.Parse(text.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>The instance's mail log, for failure messages.</summary>
    public string Log() => File.Exists(Path.Combine(Directory, "maillog")) ? File.ReadAllText(Path.Combine(Directory, "maillog")) : "";

    /// <summary>Waits until every endpoint accepts TCP connections.</summary>
    public static async Task WaitListeningAsync(IEnumerable<IPEndPoint> endpoints, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        foreach (var endpoint in endpoints)
        {
            while (true)
            {
                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync(endpoint);
                    break;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100);
                }
            }
        }
    }

    /// <summary>Runs a command; a non-zero exit throws with its stderr.</summary>
    public static void Run(string file, string args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {args}: exit {process.ExitCode}: {stderr}{stdout.Result}");
        }
    }

    public void Dispose()
    {
        try
        {
            Stop();
        }
        catch (InvalidOperationException)
        {
            // Already stopped, or never started: nothing to stop.
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A daemon still exiting may hold a file; the temporary directory goes with the machine.
        }
    }
}
