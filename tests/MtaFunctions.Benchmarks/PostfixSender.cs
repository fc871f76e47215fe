using System.Diagnostics;
using System.Globalization;

namespace MtaFunctions.Benchmarks;

/// <summary>
/// A private Debian Postfix instance (own config, queue and data directories) configured as a sending MTA:
/// smtpd on a loopback port for injection, and smtp delivering everything to one next hop with
/// opportunistic STARTTLS. Needs root and the postfix package.
/// </summary>
public sealed class PostfixSender : IDisposable
{
    private readonly string _dir;

    private PostfixSender(string dir, int injectPort)
    {
        _dir = dir;
        InjectPort = injectPort;
    }

    public int InjectPort { get; }
    public string InjectAddress => "127.0.0.1";

    public static bool IsAvailable => File.Exists("/usr/sbin/postfix") && Environment.UserName == "root";

    /// <summary>Configures and starts the instance, relaying <paramref name="domain"/> to <paramref name="nextHop"/>:<paramref name="port"/>.</summary>
    public static PostfixSender Start(string domain, string nextHop, int port, string caPem, int injectPort)
    {
        var dir = Directory.CreateTempSubdirectory("mtabench-postfix").FullName;

        // Postfix daemons run as the postfix user and must reach the queue below this directory.
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the Postfix comparison runs on Debian");
        }

        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                                  | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        Directory.CreateDirectory(Path.Combine(dir, "etc"));
        Directory.CreateDirectory(Path.Combine(dir, "queue"));
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        File.Copy(caPem, Path.Combine(dir, "ca.pem"));
        var p = port.ToString(CultureInfo.InvariantCulture);
        File.WriteAllText(Path.Combine(dir, "etc", "main.cf"), $"""
            compatibility_level = 3.6
            queue_directory = {dir}/queue
            data_directory = {dir}/data
            mail_owner = postfix
            setgid_group = postdrop
            myhostname = mta.bench.test
            mydomain = bench.test
            myorigin = $myhostname
            mydestination =
            inet_interfaces = 127.0.0.1
            inet_protocols = ipv4
            mynetworks = 127.0.0.0/8
            smtpd_relay_restrictions = permit_mynetworks, reject
            relay_domains =
            alias_maps =
            alias_database =
            local_recipient_maps =
            transport_maps = inline:{"{"} {domain}=smtp:[{nextHop}]:{p} {"}"}
            smtp_tls_security_level = may
            smtp_tls_CAfile = {dir}/ca.pem
            smtp_tls_loglevel = 0
            maillog_file = {dir}/maillog
            maillog_file_prefixes = {dir}
            biff = no
            """);
        var services = new[]
        {
            $"127.0.0.1:{injectPort} inet n - n - - smtpd",
            "pickup unix n - n 60 1 pickup", "cleanup unix n - n - 0 cleanup", "qmgr unix n - n 300 1 qmgr",
            "tlsmgr unix - - n 1000? 1 tlsmgr", "rewrite unix - - n - - trivial-rewrite", "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce", "trace unix - - n - 0 bounce", "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush", "proxymap unix - - n - - proxymap", "smtp unix - - n - - smtp",
            "relay unix - - n - - smtp", "showq unix n - n - - showq", "error unix - - n - - error",
            "retry unix - - n - - error", "discard unix - - n - - discard", "local unix - n n - - local",
            "anvil unix - - n - 1 anvil", "scache unix - - n - 1 scache", "postlog unix-dgram n - n - 1 postlogd",
        };
        File.WriteAllText(Path.Combine(dir, "etc", "master.cf"), string.Join('\n', services) + "\n");
        Run("chown", $"postfix {dir}/data");
        Run("postfix", $"-c {dir}/etc check");
        Run("postfix", $"-c {dir}/etc start");
        return new PostfixSender(dir, injectPort);
    }

    private static void Run(string file, string args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {args}: exit {process.ExitCode}: {stderr}");
        }
    }

    public void Dispose()
    {
        try
        {
            Run("postfix", $"-c {_dir}/etc stop");
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine(e.Message);
        }

        Thread.Sleep(500);
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
