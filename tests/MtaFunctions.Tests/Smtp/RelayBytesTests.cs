using System.Security.Cryptography;
using System.Text;
using MimeKit;
using MimeKit.Cryptography;
using MtaFunctions.Client.Contract;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Smtp;

/// <summary>
/// Byte-exact relay against a real Debian Postfix receiver: what the receiver stored is what was queued,
/// below the one Received: line the MTA adds (Postfix stores lines with LF; its own Received: is removed).
/// </summary>
public sealed class RelayBytesTests(AzuriteFixture storage, PostfixReceiver postfix)
    : IClassFixture<AzuriteFixture>, IClassFixture<PostfixReceiver>
{
    private const string Sender = "app@sender.test";

    public static TheoryData<string> Messages() => ["eightbit", "eightbit-lf", "attachment", "utf8-header"];

    [Theory]
    [MemberData(nameof(Messages))]
    public async Task Relay_StoredBytesEqualQueuedBytes(string kind)
    {
        await using var host = await StartAsync(PostfixReceiver.Default);
        var to = $"{kind}-{Guid.NewGuid():N}@dest.test";
        var queued = RelaySamples.Build(kind, Sender, to);

        var id = await host.SendAsync(Sender, [to], queued);
        await host.PumpAsync(TimeSpan.Zero);

        var row = (await host.StatusAsync(id))[to];
        Assert.True(row.State == nameof(DeliveryState.Delivered), $"{row.State}: {row.LastReply}\n{postfix.Log()}");
        var stored = Assert.Single(await postfix.WaitForAsync(m => m.Recipient == to)).Data;
        Assert.Equal(Lf(RelaySamples.Crlf(queued)), RelaySamples.AfterOwnReceived(stored, id));
    }

    [Fact]
    public async Task Relay_DkimSignedByProducer_VerifiesAtReceiver()
    {
        await using var host = await StartAsync(PostfixReceiver.Default);
        var to = $"dkim-{Guid.NewGuid():N}@dest.test";
        var (queued, verifier) = RelaySamples.DkimSigned(Sender, to);

        var id = await host.SendAsync(Sender, [to], queued);
        await host.PumpAsync(TimeSpan.Zero);

        var stored = Assert.Single(await postfix.WaitForAsync(m => m.Recipient == to)).Data;
        Assert.Equal(Lf(RelaySamples.Crlf(queued)), RelaySamples.AfterOwnReceived(stored, id));
        var received = MimeMessage.Load(new MemoryStream(stored));
        var signature = received.Headers.IndexOf(HeaderId.DkimSignature);
        Assert.True(signature >= 0);
        Assert.True(await verifier.VerifyAsync(received, received.Headers[signature]));
    }

    [Fact]
    public async Task Relay_No8BitMime_ConvertsTo7BitAndRecordsIt()
    {
        await using var host = await StartAsync(PostfixReceiver.No8BitMime);
        var to = $"conv-{Guid.NewGuid():N}@dest.test";
        var queued = RelaySamples.Build("eightbit", Sender, to);

        var id = await host.SendAsync(Sender, [to], queued);
        await host.PumpAsync(TimeSpan.Zero);

        var row = (await host.StatusAsync(id))[to];
        Assert.Equal(nameof(DeliveryState.Delivered), row.State);
        Assert.Contains("body converted to 7bit: the server does not offer 8BITMIME", row.LastReply);
        var stored = Assert.Single(await postfix.WaitForAsync(m => m.Recipient == to)).Data;
        Assert.DoesNotContain(stored, b => b >= 0x80);
        var original = Assert.IsType<TextPart>(MimeMessage.Load(new MemoryStream(queued)).Body);
        var converted = Assert.IsType<TextPart>(MimeMessage.Load(new MemoryStream(stored)).Body);
        Assert.NotEqual(ContentEncoding.EightBit, converted.ContentTransferEncoding);
        Assert.Equal(original.Text.ReplaceLineEndings("\n"), converted.Text.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task Relay_Utf8HeaderWithoutSmtpUtf8_Bounces567()
    {
        await using var host = await StartAsync(PostfixReceiver.NoSmtpUtf8);
        var to = $"utf-{Guid.NewGuid():N}@dest.test";

        var id = await host.SendAsync(Sender, [to], RelaySamples.Build("utf8-header", Sender, to));
        await host.PumpAsync(TimeSpan.Zero);

        var row = (await host.StatusAsync(id))[to];
        Assert.Equal(nameof(DeliveryState.Bounced), row.State);
        Assert.StartsWith("553 5.6.7", row.LastReply);
        Assert.DoesNotContain(postfix.Inbox(), m => m.Recipient == to);
    }

    private static byte[] Lf(byte[] crlf) => Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(crlf).Replace("\r\n", "\n", StringComparison.Ordinal));

    private async Task<MtaTestHost> StartAsync(string listener)
    {
        postfix.Clear();
        var host = await MtaTestHost.StartAsync(
            storage, ("Queue:Outbound:Smtp:Port", postfix.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("Queue:Outbound:Retry:Schedule", "1h"));
        host.AddDomain("dest.test", "mx.dest.test", listener);
        host.AddDomain("sender.test", "mx.sender.test", PostfixReceiver.Default);
        return host;
    }
}

/// <summary>Messages that show every way a relay can alter bytes.</summary>
internal static class RelaySamples
{
    /// <summary>A 990-octet line (UTF-8 included), trailing spaces, dot lines, a "From " line.</summary>
    public static string TrickyText()
    {
        var longLine = "Grüße " + new string('x', 990 - Encoding.UTF8.GetByteCount("Grüße "));
        return $"Grüße aus Köln — ☃\r\n{longLine}\r\ntrailing spaces   \r\n.leading dot\r\n.\r\n..two dots\r\nFrom the start of a line\r\n\r\nlast line";
    }

    public static byte[] Build(string kind, string from, string to)
    {
        var head = $"From: <{from}>\r\nTo: <{to}>\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\nMessage-ID: <{Guid.NewGuid():N}@sender.test>\r\nMIME-Version: 1.0\r\n";
        var text = TrickyText();
        return kind switch
        {
            "eightbit" => Encoding.UTF8.GetBytes($"{head}Subject: byte-exact\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"),
            "eightbit-lf" => Encoding.UTF8.GetBytes($"{head}Subject: LF only\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n".Replace("\r\n", "\n", StringComparison.Ordinal)),
            "utf8-header" => Encoding.UTF8.GetBytes($"{head}Subject: Grüße aus Köln\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"),
            "attachment" => Attachment(head),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    private static byte[] Attachment(string head)
    {
        var blob = RandomNumberGenerator.GetBytes(3000);
        var b64 = Convert.ToBase64String(blob, Base64FormattingOptions.InsertLineBreaks);
        return Encoding.UTF8.GetBytes(
            $"{head}Subject: attachment\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n" +
            $"Content-Transfer-Encoding: 8bit\r\n\r\nSee attached, café.\r\n.\r\n--b1\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\n" +
            $"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\n\r\n{b64}\r\n--b1--\r\nepilogue\r\n");
    }

    /// <summary>A message the producer signed (simple/simple: any changed octet breaks it) and its verifier.</summary>
    public static (byte[] Message, DkimVerifier Verifier) DkimSigned(string from, string to)
    {
        using var rsa = RSA.Create(2048);
        var message = MimeMessage.Load(new MemoryStream(Build("eightbit", from, to)));
        var signer = new DkimSigner(new MemoryStream(Encoding.ASCII.GetBytes(rsa.ExportPkcs8PrivateKeyPem())), "sender.test", "s1")
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Simple,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Simple,
        };
        signer.Sign(message, [HeaderId.From, HeaderId.To, HeaderId.Subject, HeaderId.Date, HeaderId.MessageId]);
        using var buffer = new MemoryStream();
        message.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, buffer);
        var record = $"v=DKIM1; k=rsa; p={Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo())}";
        return (buffer.ToArray(), new DkimVerifier(new OneKeyLocator(record)));
    }

    /// <summary>The queued bytes with CRLF line ends and a final CRLF.</summary>
    public static byte[] Crlf(byte[] queued)
    {
        var text = Encoding.Latin1.GetString(queued).Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal);
        return Encoding.Latin1.GetBytes(text.EndsWith("\r\n", StringComparison.Ordinal) ? text : text + "\r\n");
    }

    /// <summary>Checks the MTA's own Received: field on top and returns what follows it.</summary>
    public static byte[] AfterOwnReceived(byte[] stored, string id)
    {
        var text = Encoding.Latin1.GetString(stored);
        // The from clause names the producer's host (the client's default Submitter: this machine's name).
        Assert.Matches($@"^Received: (from [A-Za-z0-9.-]+ )?by mta\.sender\.test with HTTPS id {id};", text);
        var newline = text.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";
        var end = text.IndexOf(newline, text.IndexOf(newline, StringComparison.Ordinal) + 1, StringComparison.Ordinal);
        Assert.StartsWith("\t", text[(text.IndexOf(newline, StringComparison.Ordinal) + newline.Length)..]);
        return stored[(end + newline.Length)..];
    }

    private sealed class OneKeyLocator(string record) : DkimPublicKeyLocatorBase
    {
        public override Org.BouncyCastle.Crypto.AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            GetPublicKey(record);

        public override Task<Org.BouncyCastle.Crypto.AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            Task.FromResult(LocatePublicKey(methods, domain, selector, cancellationToken));
    }
}
