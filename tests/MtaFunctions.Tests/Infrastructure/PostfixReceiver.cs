using System.Globalization;
using System.Net;

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

    private PostfixInstance? _postfix;

    private string Folder => _postfix?.Directory ?? throw new InvalidOperationException("the receiver is not started");

    /// <summary>The TCP port of every listener.</summary>
    public int Port { get; private set; }

    /// <summary>Where the pipe transport stores messages: one file per (queue id, recipient).</summary>
    public string InboxDirectory => Path.Combine(Folder, "inbox");

    public async ValueTask InitializeAsync()
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the Postfix receiver runs on Debian");
        }

        Port = FreePort.Next();
        _postfix = PostfixInstance.Create("mtatest-postfix");
        Directory.CreateDirectory(InboxDirectory);

        // The pipe runs as nobody; it writes a temporary file and renames it so readers never see half a message.
        File.SetUnixFileMode(InboxDirectory, (UnixFileMode)0x3FF | UnixFileMode.StickyBit);
        var store = Path.Combine(Folder, "store.sh");
        await File.WriteAllTextAsync(store, "#!/bin/sh\nset -e\ncat > \"$1/.$2.$3.tmp\"\nmv \"$1/.$2.$3.tmp\" \"$1/$2.$3.eml\"\n");
        File.SetUnixFileMode(store, (UnixFileMode)0x1ED);

        await File.WriteAllTextAsync(Path.Combine(Folder, "rcpt_access"), "/^rcpt550/ 550 5.1.1 No such user here\n");
        await File.WriteAllTextAsync(Path.Combine(Folder, "data_access"), """
            /^data451-/ 451 4.3.0 Not now, at DATA
            /^data554-/ 554 5.7.1 Refused at DATA
            """ + "\n");
        await File.WriteAllTextAsync(Path.Combine(Folder, "eod_access"), """
            /^eod451-/ 451 4.3.0 Not now, after the body
            /^eod554-/ 554 5.7.1 Refused after the body
            """ + "\n");

        var p = Port.ToString(CultureInfo.InvariantCulture);
        _postfix.Start($"""
            myhostname = mx.postfix.test
            mydomain = postfix.test
            myorigin = $myhostname
            mydestination =
            inet_interfaces = 127.0.0.1
            mynetworks = 127.0.0.0/8
            smtpd_relay_restrictions = permit_mynetworks, reject
            smtpd_recipient_restrictions = check_recipient_access regexp:{Folder}/rcpt_access
            smtpd_data_restrictions = check_sender_access regexp:{Folder}/data_access
            smtpd_end_of_data_restrictions = check_sender_access regexp:{Folder}/eod_access
            smtpd_error_sleep_time = 0
            smtpd_soft_error_limit = 1000
            smtpd_hard_error_limit = 1000
            transport_maps = static:storepipe
            storepipe_destination_recipient_limit = 1
            local_header_rewrite_clients =
            always_add_missing_headers = no
            smtputf8_enable = yes
            local_recipient_maps =
            """,
            [
                $"{Default}:{p} inet n - n - - smtpd",
                $"{NoPipelining}:{p} inet n - n - - smtpd -o smtpd_discard_ehlo_keywords=pipelining",
                $"{No8BitMime}:{p} inet n - n - - smtpd -o smtpd_discard_ehlo_keywords=8bitmime",
                $"{NoSmtpUtf8}:{p} inet n - n - - smtpd -o smtputf8_enable=no -o smtpd_discard_ehlo_keywords=smtputf8",
                $"storepipe unix - n n - - pipe user=nobody argv={store} {InboxDirectory} ${{queue_id}} ${{recipient}}",
            ]);
        await PostfixInstance.WaitListeningAsync(new[] { Default, NoPipelining, No8BitMime, NoSmtpUtf8 }.Select(ip => new IPEndPoint(IPAddress.Parse(ip), Port)));
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
    public Task<IReadOnlyList<PostfixMail>> WaitForAsync(int count, TimeSpan? timeout = null) => WaitForAsync(_ => true, count, timeout);

    /// <summary>
    /// Waits until <paramref name="count"/> stored messages match (or the timeout passes) and returns the matching
    /// ones: other tests' mail in the same inbox (a DSN to the shared sender) does not end the wait.
    /// </summary>
    public async Task<IReadOnlyList<PostfixMail>> WaitForAsync(Func<PostfixMail, bool> match, int count = 1, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var mail = Inbox().Where(match).ToList();
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
    public string Log() => _postfix?.Log() ?? "";

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

    public ValueTask DisposeAsync()
    {
        _postfix?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>One message as the Postfix receiver stored it for one recipient.</summary>
public sealed record PostfixMail(string Recipient, byte[] Data);
