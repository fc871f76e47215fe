using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>
/// A private Debian Postfix instance (own config, queue, data and inbox directories) as a receiving MX on
/// loopback addresses, for the tests that need a real peer's SMTP behaviour.
/// </summary>
/// <remarks>
/// Listeners, all on <see cref="Port"/>:
/// <list type="bullet">
/// <item><see cref="Default"/>: PIPELINING, 8BITMIME and SMTPUTF8 offered.</item>
/// <item><see cref="NoPipelining"/>: PIPELINING not offered (each command waits for its reply).</item>
/// <item><see cref="No8BitMime"/>: 8BITMIME not offered.</item>
/// <item><see cref="NoSmtpUtf8"/>: SMTPUTF8 not offered.</item>
/// </list>
/// Replies are chosen by the envelope sender's local part (access maps): <c>data451-</c>/<c>data554-</c>
/// answer DATA, <c>eod451-</c>/<c>eod554-</c> answer the end of the data. Recipients whose local part
/// starts with <c>rcpt550</c> are refused at RCPT. Every accepted message is stored per recipient, exactly
/// as received (a pipe transport without flags, so no From_ line, Return-Path or Delivered-To), under
/// <see cref="InboxDirectory"/>; Postfix prepends its own Received: line, which <see cref="Inbox"/> strips.
/// </remarks>
public sealed class PostfixReceiver : IAsyncLifetime
{
    public const string Default = "127.0.0.61";
    public const string NoPipelining = "127.0.0.62";
    public const string No8BitMime = "127.0.0.63";
    public const string NoSmtpUtf8 = "127.0.0.64";

    private string _dir = "";

    /// <summary>The TCP port of every listener.</summary>
    public int Port { get; private set; }

    /// <summary>Where the pipe transport stores messages: one file per (queue id, recipient).</summary>
    public string InboxDirectory => Path.Combine(_dir, "inbox");

    public async ValueTask InitializeAsync()
    {
        if (OperatingSystem.IsWindows() || !File.Exists("/usr/sbin/postfix") || Environment.UserName != "root")
        {
            throw new InvalidOperationException("the Postfix receiver tests need root and the Debian postfix package (tests/apt-packages.txt)");
        }

        Port = FreePort.Next();
        _dir = Directory.CreateTempSubdirectory("mtatest-postfix").FullName;
        File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                                   | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        foreach (var sub in new[] { "etc", "queue", "data", "inbox" })
        {
            Directory.CreateDirectory(Path.Combine(_dir, sub));
        }

        // The pipe runs as nobody; it writes a temporary file and renames it so readers never see half a message.
        File.SetUnixFileMode(InboxDirectory, (UnixFileMode)0x3FF | UnixFileMode.StickyBit);
        var store = Path.Combine(_dir, "store.sh");
        await File.WriteAllTextAsync(store, "#!/bin/sh\nset -e\ncat > \"$1/.$2.$3.tmp\"\nmv \"$1/.$2.$3.tmp\" \"$1/$2.$3.eml\"\n");
        File.SetUnixFileMode(store, (UnixFileMode)0x1ED);

        await File.WriteAllTextAsync(Path.Combine(_dir, "rcpt_access"), "/^rcpt550/ 550 5.1.1 No such user here\n");
        await File.WriteAllTextAsync(Path.Combine(_dir, "data_access"), """
            /^data451-/ 451 4.3.0 Not now, at DATA
            /^data554-/ 554 5.7.1 Refused at DATA
            """ + "\n");
        await File.WriteAllTextAsync(Path.Combine(_dir, "eod_access"), """
            /^eod451-/ 451 4.3.0 Not now, after the body
            /^eod554-/ 554 5.7.1 Refused after the body
            """ + "\n");

        var p = Port.ToString(CultureInfo.InvariantCulture);
        await File.WriteAllTextAsync(Path.Combine(_dir, "etc", "main.cf"), $"""
            compatibility_level = 3.6
            queue_directory = {_dir}/queue
            data_directory = {_dir}/data
            mail_owner = postfix
            setgid_group = postdrop
            myhostname = mx.postfix.test
            mydomain = postfix.test
            myorigin = $myhostname
            mydestination =
            inet_interfaces = 127.0.0.1
            inet_protocols = ipv4
            mynetworks = 127.0.0.0/8
            smtpd_relay_restrictions = permit_mynetworks, reject
            smtpd_recipient_restrictions = check_recipient_access regexp:{_dir}/rcpt_access
            smtpd_data_restrictions = check_sender_access regexp:{_dir}/data_access
            smtpd_end_of_data_restrictions = check_sender_access regexp:{_dir}/eod_access
            smtpd_error_sleep_time = 0
            smtpd_soft_error_limit = 1000
            smtpd_hard_error_limit = 1000
            transport_maps = static:storepipe
            storepipe_destination_recipient_limit = 1
            local_header_rewrite_clients =
            always_add_missing_headers = no
            smtputf8_enable = yes
            alias_maps =
            alias_database =
            local_recipient_maps =
            maillog_file = {_dir}/maillog
            maillog_file_prefixes = {_dir}
            biff = no
            """);
        var services = new[]
        {
            $"{Default}:{p} inet n - n - - smtpd",
            $"{NoPipelining}:{p} inet n - n - - smtpd -o smtpd_discard_ehlo_keywords=pipelining",
            $"{No8BitMime}:{p} inet n - n - - smtpd -o smtpd_discard_ehlo_keywords=8bitmime",
            $"{NoSmtpUtf8}:{p} inet n - n - - smtpd -o smtputf8_enable=no -o smtpd_discard_ehlo_keywords=smtputf8",
            $"storepipe unix - n n - - pipe user=nobody argv={store} {InboxDirectory} ${{queue_id}} ${{recipient}}",
            "pickup unix n - n 60 1 pickup", "cleanup unix n - n - 0 cleanup", "qmgr unix n - n 300 1 qmgr",
            "rewrite unix - - n - - trivial-rewrite", "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce", "trace unix - - n - 0 bounce", "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush", "proxymap unix - - n - - proxymap", "smtp unix - - n - - smtp",
            "relay unix - - n - - smtp", "showq unix n - n - - showq", "error unix - - n - - error",
            "retry unix - - n - - error", "discard unix - - n - - discard",
            "anvil unix - - n - 1 anvil", "scache unix - - n - 1 scache", "postlog unix-dgram n - n - 1 postlogd",
        };
        await File.WriteAllTextAsync(Path.Combine(_dir, "etc", "master.cf"), string.Join('\n', services) + "\n");
        Run("chown", $"postfix {_dir}/data");
        Run("postfix", $"-c {_dir}/etc check");
        Run("postfix", $"-c {_dir}/etc start");
        await WaitListeningAsync();
    }

    /// <summary>Every message stored so far, per recipient, with Postfix's own Received: line removed.</summary>
    public IReadOnlyList<PostfixMail> Inbox() =>
        Directory.GetFiles(InboxDirectory, "*.eml")
            .Select(f =>
            {
                var name = Path.GetFileNameWithoutExtension(f);
                var dot = name.IndexOf('.', StringComparison.Ordinal);
                return new PostfixMail(name[(dot + 1)..], StripOwnReceived(File.ReadAllBytes(f)));
            })
            .ToList();

    /// <summary>Waits until <paramref name="count"/> messages are stored (or the timeout passes) and returns them.</summary>
    public async Task<IReadOnlyList<PostfixMail>> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var mail = Inbox();
            if (mail.Count >= count || DateTime.UtcNow > deadline)
            {
                return mail;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Deletes every stored message.</summary>
    public void Clear()
    {
        foreach (var file in Directory.GetFiles(InboxDirectory))
        {
            File.Delete(file);
        }
    }

    /// <summary>The receiver's mail log, for failure messages.</summary>
    public string Log() => File.Exists(Path.Combine(_dir, "maillog")) ? File.ReadAllText(Path.Combine(_dir, "maillog")) : "";

    // Postfix's smtpd prepends exactly one "Received: from ..." field (folded over several lines).
    private static byte[] StripOwnReceived(byte[] data)
    {
        var i = 0;
        if (!data.AsSpan().StartsWith("Received: "u8))
        {
            return data;
        }

        while (i < data.Length)
        {
            var end = data.AsSpan(i).IndexOf((byte)'\n');
            if (end < 0)
            {
                return data;
            }

            i += end + 1;
            if (i >= data.Length || (data[i] != (byte)' ' && data[i] != (byte)'\t'))
            {
                return data[i..];
            }
        }

        return data;
    }

    private async Task WaitListeningAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        foreach (var ip in new[] { Default, NoPipelining, No8BitMime, NoSmtpUtf8 })
        {
            while (true)
            {
                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync(IPAddress.Parse(ip), Port);
                    break;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100);
                }
            }
        }
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

    public ValueTask DisposeAsync()
    {
        try
        {
            Run("postfix", $"-c {_dir}/etc stop");
        }
        catch (InvalidOperationException)
        {
            // Already stopped, or never started: nothing to stop.
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A daemon still exiting may hold a file; the temporary directory goes with the machine.
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>One message as the Postfix receiver stored it for one recipient.</summary>
public sealed record PostfixMail(string Recipient, byte[] Data);
