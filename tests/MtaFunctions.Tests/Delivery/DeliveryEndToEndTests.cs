using System.Text;
using MimeKit;
using MtaFunctions.Client.Contract;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Delivery;

/// <summary>
/// The issue-2 path end to end: client → queue (Azurite) → handler → DNS on the wire → SMTP with STARTTLS
/// on loopback → Deliveries table, with the seed's STARTTLS and invalid-certificate settings.
/// </summary>
public sealed class DeliveryEndToEndTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    [Fact]
    public async Task Deliver_StartTlsServer_DeliversByteCompleteOverVerifiedTls()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("example.test", "mx.example.test", "127.0.0.11");
        host.AddSmtpServer("127.0.0.11", host.Ca.IssueServer(["mx.example.test"]));
        var message = MtaTestHost.Message(Sender, "alice@example.test", body: "Line one\r\n.leading dot\r\nnon-ascii-free body\r\n");

        var id = await host.SendAsync(Sender, ["alice@example.test"], message);
        await host.PumpAsync();

        var received = Assert.Single(host.Inbox);
        Assert.True(received.Secure);
        Assert.Equal(Sender, received.From);
        Assert.Equal(["alice@example.test"], received.To);
        Assert.Equal(Encoding.ASCII.GetString(message).TrimEnd('\r', '\n'), Encoding.ASCII.GetString(Smtp.RelaySamples.AfterOwnReceived(received.Data, id)).TrimEnd('\r', '\n'));
        var row = (await host.StatusAsync(id))["alice@example.test"];
        Assert.Equal(nameof(DeliveryState.Delivered), row.State);
        Assert.Equal(1, row.Attempts);
        Assert.Equal("mx.example.test", row.MxHost);
        Assert.Equal("127.0.0.11", row.RemoteIp);
        Assert.StartsWith("Tls1", row.TlsVersion);
        Assert.False(string.IsNullOrEmpty(row.TlsCipher));
        Assert.Equal("CN=mx.example.test", row.CertificateSubject);
        Assert.True(row.CertificateVerified);
        Assert.Equal("none", row.PolicyApplied);
        Assert.StartsWith("250", row.LastReply);
    }

    [Theory]
    [InlineData("optional", true, true, true)]
    [InlineData("optional", false, true, false)]
    [InlineData("require", true, true, true)]
    [InlineData("require", false, false, false)]
    [InlineData("disable", true, true, false)]
    [InlineData("disable", false, true, false)]
    public async Task StartTlsMode_ServerWithOrWithoutStartTls_FollowsSetting(string mode, bool serverTls, bool delivered, bool secure)
    {
        await using var host = await MtaTestHost.StartAsync(storage, ("Queue:Outbound:Tls:StartTls", mode));
        host.AddDomain("tls.test", "mx.tls.test", "127.0.0.12");
        host.AddSmtpServer("127.0.0.12", serverTls ? host.Ca.IssueServer(["mx.tls.test"]) : null);

        var id = await host.SendAsync(Sender, ["bob@tls.test"], MtaTestHost.Message(Sender, "bob@tls.test"));
        await host.PumpAsync(TimeSpan.Zero);

        var row = (await host.StatusAsync(id))["bob@tls.test"];
        if (delivered)
        {
            var received = Assert.Single(host.Inbox);
            Assert.Equal(secure, received.Secure);
            Assert.Equal(nameof(DeliveryState.Delivered), row.State);
            Assert.Equal(secure, row.TlsVersion is not null);
        }
        else
        {
            Assert.Empty(host.Inbox);
            Assert.Equal(nameof(DeliveryState.Deferred), row.State);
            Assert.Contains("STARTTLS required but not offered", row.LastReply);
            Assert.NotNull(row.NextAttemptAt);
        }
    }

    public enum BadCertificate
    {
        SelfSigned,
        WrongName,
        Expired,
    }

    [Theory]
    [InlineData(BadCertificate.SelfSigned, false)]
    [InlineData(BadCertificate.WrongName, false)]
    [InlineData(BadCertificate.Expired, false)]
    [InlineData(BadCertificate.SelfSigned, true)]
    [InlineData(BadCertificate.WrongName, true)]
    [InlineData(BadCertificate.Expired, true)]
    public async Task InvalidCertificate_AllowInvalidCerts_DecidesAndNeverFallsBackToPlaintext(BadCertificate kind, bool allowInvalid)
    {
        await using var host = await MtaTestHost.StartAsync(storage, ("Queue:Outbound:Tls:AllowInvalidCerts", allowInvalid ? "true" : "false"));
        host.AddDomain("badcert.test", "mx.badcert.test", "127.0.0.13");
        var certificate = kind switch
        {
            BadCertificate.SelfSigned => TestCertificateAuthority.SelfSigned("mx.badcert.test"),
            BadCertificate.WrongName => host.Ca.IssueServer(["other.badcert.test"]),
            _ => host.Ca.IssueServer(["mx.badcert.test"], DateTimeOffset.UtcNow.AddDays(-60), DateTimeOffset.UtcNow.AddDays(-1)),
        };
        host.AddSmtpServer("127.0.0.13", certificate);

        var id = await host.SendAsync(Sender, ["carol@badcert.test"], MtaTestHost.Message(Sender, "carol@badcert.test"));
        await host.PumpAsync(TimeSpan.Zero);

        var row = (await host.StatusAsync(id))["carol@badcert.test"];
        if (allowInvalid)
        {
            Assert.True(Assert.Single(host.Inbox).Secure);
            Assert.Equal(nameof(DeliveryState.Delivered), row.State);
            Assert.False(row.CertificateVerified);
        }
        else
        {
            Assert.Empty(host.Inbox);
            Assert.Equal(nameof(DeliveryState.Deferred), row.State);
            Assert.Contains("certificate refused", row.LastReply);
        }
    }

    [Fact]
    public async Task PreferredMxDown_SecondMxDelivers()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("backup.test", "mx1.backup.test", "127.0.0.14", preference: 10);
        host.AddDomain("backup.test", "mx2.backup.test", "127.0.0.15", preference: 20);
        host.AddSmtpServer("127.0.0.15", host.Ca.IssueServer(["mx2.backup.test"]));

        var id = await host.SendAsync(Sender, ["dan@backup.test"], MtaTestHost.Message(Sender, "dan@backup.test"));
        await host.PumpAsync(TimeSpan.Zero);

        Assert.Equal("127.0.0.15", Assert.Single(host.Inbox).Server.Address.ToString());
        var row = (await host.StatusAsync(id))["dan@backup.test"];
        Assert.Equal(nameof(DeliveryState.Delivered), row.State);
        Assert.Equal("mx2.backup.test", row.MxHost);
    }

    [Fact]
    public async Task TemporaryFailure_RetriedOnScheduleThenDelivered()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("busy.test", "mx.busy.test", "127.0.0.16");
        var server = host.AddSmtpServer("127.0.0.16", host.Ca.IssueServer(["mx.busy.test"]));
        server.RecipientReplies["erin@busy.test"] = (450, "4.2.1 Mailbox busy, try later");

        var id = await host.SendAsync(Sender, ["erin@busy.test"], MtaTestHost.Message(Sender, "erin@busy.test"));
        await host.PumpAsync(TimeSpan.Zero);
        var first = (await host.StatusAsync(id))["erin@busy.test"];
        Assert.Equal(nameof(DeliveryState.Deferred), first.State);
        Assert.Contains("450", first.LastReply);
        Assert.Empty(host.Inbox);

        server.RecipientReplies.Clear();
        await host.PumpAsync(TimeSpan.FromSeconds(15), () => !host.Inbox.IsEmpty);

        Assert.Single(host.Inbox);
        var second = (await host.StatusAsync(id))["erin@busy.test"];
        Assert.Equal(nameof(DeliveryState.Delivered), second.State);
        Assert.Equal(2, second.Attempts);
        Assert.Equal(2, server.RecipientAttempts["erin@busy.test"]);
    }

    [Fact]
    public async Task PermanentFailure_DsnBounceArrivesAtSenderMailbox()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("dest.test", "mx.dest.test", "127.0.0.17");
        host.AddDomain("sender.test", "mx.sender.test", "127.0.0.18");
        var dest = host.AddSmtpServer("127.0.0.17", host.Ca.IssueServer(["mx.dest.test"]));
        host.AddSmtpServer("127.0.0.18", host.Ca.IssueServer(["mx.sender.test"]));
        dest.RecipientReplies["nobody@dest.test"] = (550, "5.1.1 No such user");

        var id = await host.SendAsync(Sender, ["nobody@dest.test"], MtaTestHost.Message(Sender, "nobody@dest.test", subject: "original subject"));
        await host.PumpAsync(TimeSpan.FromSeconds(5), () => !host.Inbox.IsEmpty);

        var row = (await host.StatusAsync(id))["nobody@dest.test"];
        Assert.Equal(nameof(DeliveryState.Bounced), row.State);
        var bounce = Assert.Single(host.Inbox);
        Assert.Equal("", bounce.From);
        Assert.Equal([Sender], bounce.To);
        var dsn = MtaTestHost.Parse(bounce.Data);
        var report = Assert.IsType<MultipartReport>(dsn.Body);
        Assert.Equal("delivery-status", report.ReportType);
        var status = Assert.Single(report.OfType<MessageDeliveryStatus>());
        var recipient = status.StatusGroups[1];
        Assert.Equal("rfc822; nobody@dest.test", recipient["Final-Recipient"]);
        Assert.Equal("failed", recipient["Action"]);
        Assert.Equal("5.1.1", recipient["Status"]);
        Assert.Equal("dns; mx.dest.test", recipient["Remote-MTA"]);
        Assert.Contains("550", recipient["Diagnostic-Code"]);
        Assert.Equal("dns; mta.sender.test", status.StatusGroups[0]["Reporting-MTA"]);
        Assert.Contains(report, p => p.ContentType.MimeType == "text/rfc822-headers");
        Assert.Contains("original subject", Encoding.ASCII.GetString(bounce.Data));
    }

    [Fact]
    public async Task PartialAcceptance_EachRecipientGetsItsOwnOutcome()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("mixed.test", "mx.mixed.test", "127.0.0.19");
        host.AddDomain("sender.test", "mx.sender.test", "127.0.0.20");
        var server = host.AddSmtpServer("127.0.0.19", host.Ca.IssueServer(["mx.mixed.test"]));
        host.AddSmtpServer("127.0.0.20", host.Ca.IssueServer(["mx.sender.test"]));
        server.RecipientReplies["later@mixed.test"] = (451, "4.3.0 Try later");
        server.RecipientReplies["gone@mixed.test"] = (550, "5.1.1 Gone");
        string[] to = ["ok@mixed.test", "later@mixed.test", "gone@mixed.test"];

        var id = await host.SendAsync(Sender, to, MtaTestHost.Message(Sender, "ok@mixed.test"));
        await host.PumpAsync(TimeSpan.Zero);

        var status = await host.StatusAsync(id);
        Assert.Equal(nameof(DeliveryState.Delivered), status["ok@mixed.test"].State);
        Assert.Equal(nameof(DeliveryState.Deferred), status["later@mixed.test"].State);
        Assert.Equal(nameof(DeliveryState.Bounced), status["gone@mixed.test"].State);
        var delivered = host.Inbox.Single(m => m.Server.Address.ToString() == "127.0.0.19");
        Assert.Equal(["ok@mixed.test"], delivered.To);
    }

    [Fact]
    public async Task NullMx_FailsPermanentlyWithoutConnecting()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.Dns.Mx("nullmx.test", 0, ".");
        host.AddDomain("sender.test", "mx.sender.test", "127.0.0.21");
        host.AddSmtpServer("127.0.0.21", host.Ca.IssueServer(["mx.sender.test"]));

        var id = await host.SendAsync(Sender, ["x@nullmx.test"], MtaTestHost.Message(Sender, "x@nullmx.test"));
        await host.PumpAsync(TimeSpan.FromSeconds(5), () => !host.Inbox.IsEmpty);

        var row = (await host.StatusAsync(id))["x@nullmx.test"];
        Assert.Equal(nameof(DeliveryState.Bounced), row.State);
        Assert.Contains("5.1.10", row.LastReply);
        var bounce = Assert.Single(host.Inbox);
        Assert.Equal([Sender], bounce.To);
    }

    [Fact]
    public async Task BounceOfABounce_FailsWithoutDsn()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("dest2.test", "mx.dest2.test", "127.0.0.22");
        var server = host.AddSmtpServer("127.0.0.22", host.Ca.IssueServer(["mx.dest2.test"]));
        server.RecipientReplies["gone@dest2.test"] = (550, "5.1.1 Gone");

        var id = await host.SendAsync("", ["gone@dest2.test"], MtaTestHost.Message("mailer-daemon@sender.test", "gone@dest2.test"));
        var handled = await host.PumpAsync(TimeSpan.Zero);

        Assert.Equal(1, handled);
        Assert.Equal(nameof(DeliveryState.Failed), (await host.StatusAsync(id))["gone@dest2.test"].State);
        Assert.Empty(host.Inbox);
    }

    [Fact]
    public async Task DuplicateQueueDelivery_SendsOnlyOnce()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("dup.test", "mx.dup.test", "127.0.0.23");
        host.AddSmtpServer("127.0.0.23", host.Ca.IssueServer(["mx.dup.test"]));
        await host.SendAsync(Sender, ["frank@dup.test"], MtaTestHost.Message(Sender, "frank@dup.test"));
        var message = Assert.Single((await host.OutboundQueue.ReceiveMessagesAsync(1)).Value);

        // The host hands the same queue message out twice (a crash before completion, a visibility timeout).
        await host.Handler.HandleAsync(message.Body.ToString(), 1, CancellationToken.None);
        await host.Handler.HandleAsync(message.Body.ToString(), 2, CancellationToken.None);

        Assert.Single(host.Inbox);
    }

    [Theory]
    [InlineData("{not json", "outbound envelope: $: not valid envelope JSON")]
    [InlineData("""{"id":"bad id!","from":"a@b.test","to":["c@d.test"],"message":"QQ==","queuedAt":"2026-01-01T00:00:00Z"}""", "outbound envelope: id: 'bad id!' is not 1-128 characters")]
    [InlineData("""{"id":"m1","from":"a@b.test","to":["c@d.test"],"messageBlob":"missing.eml","queuedAt":"2026-01-01T00:00:00Z"}""", "outbound envelope: messageBlob: blob 'missing.eml' does not exist")]
    [InlineData("""{"id":"m2","from":"a@b.test","to":["c@d.test"],"message":"QQ==","queuedAt":"2026-01-01T00:00:00Z"}""", "outbound envelope: message: not an RFC 5322 message")]
    public async Task MalformedEnvelope_GoesToPoisonQueueWithReason(string payload, string reason)
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        await host.OutboundQueue.SendMessageAsync(BinaryData.FromString(payload));

        var handled = await host.PumpAsync(TimeSpan.Zero);

        Assert.Equal(1, handled);
        var poisoned = Assert.Single(await host.PoisonedAsync());
        Assert.StartsWith(reason, poisoned.Reason);
        Assert.Equal(payload, poisoned.Payload);
        Assert.Equal(0, (await host.OutboundQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task LargeMessage_TravelsAsBlob_DeliveredWholeAndBlobDeleted()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("big.test", "mx.big.test", "127.0.0.24");
        host.AddSmtpServer("127.0.0.24", host.Ca.IssueServer(["mx.big.test"]));
        var body = string.Concat(Enumerable.Range(0, 4000).Select(i => $"line {i:D6} of a large message body...........\r\n"));
        var message = MtaTestHost.Message(Sender, "gina@big.test", body: body);
        Assert.True(message.Length > 150_000);

        var id = await host.SendAsync(Sender, ["gina@big.test"], message);
        var queued = Assert.Single((await host.OutboundQueue.PeekMessagesAsync(1)).Value);
        var envelope = EnvelopeSerializer.Parse(queued.Body.ToString());
        Assert.Null(envelope.Message);
        Assert.NotNull(envelope.MessageBlob);
        await host.PumpAsync();

        Assert.Equal(Encoding.ASCII.GetString(message).TrimEnd('\r', '\n'), Encoding.ASCII.GetString(Smtp.RelaySamples.AfterOwnReceived(Assert.Single(host.Inbox).Data, id)).TrimEnd('\r', '\n'));
        var blob = host.Storage.Blobs.GetBlobContainerClient(StorageNames.MessageContainer).GetBlobClient(envelope.MessageBlob);
        Assert.False((await blob.ExistsAsync()).Value);
    }

    [Fact]
    public async Task TlsRequiredNo_DeliversDespiteRequireAndInvalidCertificate_AndRemovesHeader()
    {
        await using var host = await MtaTestHost.StartAsync(storage, ("Queue:Outbound:Tls:StartTls", "require"));
        host.AddDomain("report.test", "mx.report.test", "127.0.0.25");
        host.AddSmtpServer("127.0.0.25", TestCertificateAuthority.SelfSigned("mx.report.test"));
        var message = MtaTestHost.Message(Sender, "tlsrpt@report.test", extraHeaders: "TLS-Required: No\r\n");

        var id = await host.SendAsync(Sender, ["tlsrpt@report.test"], message);
        await host.PumpAsync(TimeSpan.Zero);

        var received = Assert.Single(host.Inbox);
        Assert.True(received.Secure);
        Assert.DoesNotContain("TLS-Required", Encoding.ASCII.GetString(received.Data), StringComparison.OrdinalIgnoreCase);
        var row = (await host.StatusAsync(id))["tlsrpt@report.test"];
        Assert.Equal("tls-required-no", row.PolicyApplied);
        Assert.False(row.CertificateVerified);
    }

    [Fact]
    public async Task Domains_RetriedIndependently()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("up.test", "mx.up.test", "127.0.0.26");
        host.AddDomain("down.test", "mx.down.test", "127.0.0.27");
        host.AddSmtpServer("127.0.0.26", host.Ca.IssueServer(["mx.up.test"]));

        var id = await host.SendAsync(Sender, ["a@up.test", "b@down.test"], MtaTestHost.Message(Sender, "a@up.test"));
        await host.PumpAsync(TimeSpan.Zero);

        var status = await host.StatusAsync(id);
        Assert.Equal(nameof(DeliveryState.Delivered), status["a@up.test"].State);
        Assert.Equal(nameof(DeliveryState.Deferred), status["b@down.test"].State);
        var retry = EnvelopeSerializer.Parse(Assert.Single((await host.OutboundQueue.PeekMessagesAsync(5)).Value is { Length: > 0 } m ? m : await WaitVisibleAsync(host)).Body.ToString());
        Assert.Equal(["b@down.test"], retry.To);
        Assert.Equal(1, retry.Attempt);

        host.AddSmtpServer("127.0.0.27", host.Ca.IssueServer(["mx.down.test"]));
        await host.PumpAsync(TimeSpan.FromSeconds(15), () => host.Inbox.Count == 2);
        Assert.Equal(nameof(DeliveryState.Delivered), (await host.StatusAsync(id))["b@down.test"].State);
        Assert.Equal(1, host.Inbox.Count(m => m.To.Contains("a@up.test")));
    }

    [Fact]
    public async Task Lifetime_Exceeded_BouncesWithLastReply()
    {
        await using var host = await MtaTestHost.StartAsync(storage, ("Queue:Outbound:Retry:Lifetime", "2s"));
        host.AddDomain("slow.test", "mx.slow.test", "127.0.0.28");
        host.AddDomain("sender.test", "mx.sender.test", "127.0.0.29");
        var server = host.AddSmtpServer("127.0.0.28", host.Ca.IssueServer(["mx.slow.test"]));
        host.AddSmtpServer("127.0.0.29", host.Ca.IssueServer(["mx.sender.test"]));
        server.RecipientReplies["h@slow.test"] = (452, "4.2.2 Mailbox full");

        var id = await host.SendAsync(Sender, ["h@slow.test"], MtaTestHost.Message(Sender, "h@slow.test"));
        await host.PumpAsync(TimeSpan.FromSeconds(20), () => !host.Inbox.IsEmpty);

        var row = (await host.StatusAsync(id))["h@slow.test"];
        Assert.Equal(nameof(DeliveryState.Bounced), row.State);
        Assert.Contains("gave up", row.LastReply);
        var dsn = MtaTestHost.Parse(Assert.Single(host.Inbox).Data);
        var status = Assert.Single(Assert.IsType<MultipartReport>(dsn.Body).OfType<MessageDeliveryStatus>());
        Assert.Equal("4.2.2", status.StatusGroups[1]["Status"]);
    }

    private static async Task<Azure.Storage.Queues.Models.PeekedMessage[]> WaitVisibleAsync(MtaTestHost host)
    {
        for (var i = 0; i < 50; i++)
        {
            var messages = (await host.OutboundQueue.PeekMessagesAsync(5)).Value;
            if (messages.Length > 0)
            {
                return messages;
            }

            await Task.Delay(100);
        }

        return [];
    }
}
