using System.Text;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using MtaFunctions.Client.Contract;
using MtaFunctions.Tests.Infrastructure;
using MtaFunctions.Tests.Smtp;

namespace MtaFunctions.Tests.Delivery;

/// <summary>
/// Issue 10 with in-process peers: exact CRLF bytes and MAIL parameters, Received: trace, never twice,
/// visible poison, validation at the door, unresolvable domains, a failed AAAA lookup.
/// </summary>
public sealed class DeliveryCorrectnessTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    [Fact]
    public async Task Relay_EightBitBody_SentExactWithBody8BitMime_BelowOneReceivedField()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("exact.test", "mx.exact.test", "127.0.0.71");
        host.AddSmtpServer("127.0.0.71", host.Ca.IssueServer(["mx.exact.test"]));
        var queued = RelaySamples.Build("eightbit", Sender, "e@exact.test");

        var id = await host.SendAsync(Sender, ["e@exact.test"], queued);
        await host.PumpAsync();

        var received = Assert.Single(host.Inbox);
        Assert.Equal("8BITMIME", received.MailParameters?["BODY"]);
        Assert.False(received.MailParameters!.ContainsKey("SMTPUTF8"));
        Assert.Equal(WithoutFinalCrlf(RelaySamples.Crlf(queued)), RelaySamples.AfterOwnReceived(received.Data, id));
    }

    [Fact]
    public async Task Relay_Utf8Header_SentWithSmtpUtf8()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("intl.test", "mx.intl.test", "127.0.0.72");
        host.AddSmtpServer("127.0.0.72", host.Ca.IssueServer(["mx.intl.test"]));
        var queued = RelaySamples.Build("utf8-header", Sender, "u@intl.test");

        var id = await host.SendAsync(Sender, ["u@intl.test"], queued);
        await host.PumpAsync();

        var received = Assert.Single(host.Inbox);
        Assert.True(received.MailParameters!.ContainsKey("SMTPUTF8"));
        Assert.Equal(WithoutFinalCrlf(RelaySamples.Crlf(queued)), RelaySamples.AfterOwnReceived(received.Data, id));
    }

    // The in-process server keeps the data without the CRLF that belongs to the terminating "CRLF.CRLF".
    private static byte[] WithoutFinalCrlf(byte[] data) => data[..^2];

    [Theory]
    [InlineData("app01.producer.test", "from app01.producer.test ")]
    [InlineData(null, "")]
    public async Task Received_AddedOnTop_FromSubmitterByHostnameWithIdAndDate(string? submitter, string fromClause)
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("trace.test", "mx.trace.test", "127.0.0.73");
        host.AddSmtpServer("127.0.0.73", host.Ca.IssueServer(["mx.trace.test"]));
        var queued = MtaTestHost.Message(Sender, "t@trace.test");

        // RFC 5321 §4.4: from = the producer's host as its client declares it; no declared name, no clause.
        var client = new MtaFunctions.Client.MtaClient(storage.ConnectionString) { Submitter = submitter };
        var id = await client.SendAsync(new MemoryStream(queued), Sender, ["t@trace.test"]);
        await host.PumpAsync();

        var data = Encoding.ASCII.GetString(Assert.Single(host.Inbox).Data);
        Assert.Matches($@"^Received: {System.Text.RegularExpressions.Regex.Escape(fromClause)}by mta\.sender\.test with HTTPS id {id};\r\n\t\w{{3}}, \d{{1,2}} \w{{3}} \d{{4}} \d\d:\d\d:\d\d [+-]\d{{4}}\r\nFrom: <{Sender}>", data);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(data, "^Received:", System.Text.RegularExpressions.RegexOptions.Multiline));
        Assert.Equal(WithoutFinalCrlf(RelaySamples.Crlf(queued)), RelaySamples.AfterOwnReceived(Assert.Single(host.Inbox).Data, id));
    }

    [Theory]
    [InlineData("app01.example\r\nBcc: x@evil.test")]
    [InlineData("has space.example")]
    [InlineData("-leading.example")]
    public void Client_SubmitterNotAHostName_RefusedNamingIt(string submitter)
    {
        var e = Assert.Throws<EnvelopeFormatException>(() => new MtaFunctions.Client.MtaClient(storage.ConnectionString) { Submitter = submitter });
        Assert.Equal("submitter", e.Field);
    }

    [Fact]
    public async Task Worker_SubmitterNotAHostNameFromOtherProducer_PoisonedWithReason()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        var payload = System.Text.Json.JsonSerializer.Serialize(new
        {
            id = "bad-submitter",
            from = Sender,
            to = new[] { "s@trace.test" },
            message = Convert.ToBase64String(MtaTestHost.Message(Sender, "s@trace.test")),
            queuedAt = DateTimeOffset.UtcNow,
            recipientCount = 1,
            submitter = "app01\r\nX-Injected: yes",
        });

        await host.Handler.HandleAsync(payload, 1, CancellationToken.None);

        var poisoned = Assert.Single(await host.PoisonedAsync());
        Assert.StartsWith("outbound envelope: submitter:", poisoned.Reason);
        Assert.Empty(host.Inbox);
    }

    /// <summary>
    /// One after the other: the second queue message finds the recipient final and sends nothing. With the body in
    /// a blob, the first deleted it once every recipient was final: the second ends quietly, not poisoned for a
    /// missing blob.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SameEnvelopeQueuedTwice_FirstDequeueEach_DeliveredOnce_NothingPoisoned(bool bodyInBlob)
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("twice.test", "mx.twice.test", "127.0.0.74");
        host.AddSmtpServer("127.0.0.74", host.Ca.IssueServer(["mx.twice.test"]));
        var body = bodyInBlob
            ? MtaTestHost.Message(Sender, "g@twice.test", body: string.Concat(Enumerable.Repeat(new string('b', 76) + "\r\n", 800)))
            : MtaTestHost.Message(Sender, "g@twice.test");
        var id = await host.SendAsync(Sender, ["g@twice.test"], body);
        var payload = Assert.Single((await host.OutboundQueue.ReceiveMessagesAsync(1)).Value).Body.ToString();
        Assert.Equal(bodyInBlob, EnvelopeSerializer.Parse(payload).MessageBlob is not null);

        // A producer retrying its enqueue: the same envelope arrives again as a new queue message (dequeue count 1).
        await host.Handler.HandleAsync(payload, 1, CancellationToken.None);
        await host.Handler.HandleAsync(payload, 1, CancellationToken.None);

        Assert.Single(host.Inbox);
        Assert.Empty(await host.PoisonedAsync());
        Assert.Equal(nameof(DeliveryState.Delivered), (await host.StatusAsync(id))["g@twice.test"].State);
    }

    [Fact]
    public async Task NotBase64_FunctionTrigger_PoisonedWithReason()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        var raw = "{\"id\":\"plain-json\"} is not base64!";
        var message = Azure.Storage.Queues.Models.QueuesModelFactory.QueueMessage("m1", "p1", BinaryData.FromString(raw), 1);

        await new DeliverOutbound(host.Handler).Run(message, CancellationToken.None);

        var poisoned = Assert.Single(await host.PoisonedAsync());
        Assert.StartsWith("outbound queue message: not base64", poisoned.Reason);
        Assert.Equal(raw, poisoned.Payload);
    }

    [Fact]
    public async Task NotBase64_LocalHostQueueTrigger_PoisonedWithReason()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        var raw = "<<not base64>>";
        await new QueueClient(storage.ConnectionString, StorageNames.OutboundQueue).SendMessageAsync(raw);
        using var app = MtaFunctions.LocalHost.LocalHostBuilder.Build([], Path.GetTempPath(), c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = storage.ConnectionString,
            ["Dns:Servers"] = host.Dns.EndPoint.ToString(),
            ["LocalHost:Http:Port"] = "0",
        }));
        await app.StartAsync();
        try
        {
            for (var i = 0; i < 150 && (await host.PoisonQueue.PeekMessagesAsync(1)).Value.Length == 0; i++)
            {
                await Task.Delay(100);
            }
        }
        finally
        {
            await app.StopAsync();
        }

        var poisoned = Assert.Single(await host.PoisonedAsync());
        Assert.StartsWith("outbound queue message: not base64", poisoned.Reason);
        Assert.Equal(raw, poisoned.Payload);
    }

    [Fact]
    public async Task Poisoned_StatusShowsEachRecipientFailedWithReason()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        var payload = """{"id":"m-poison-status","from":"a@b.test","to":["c@d.test","e@d.test"],"messageBlob":"gone.eml","queuedAt":"2026-01-01T00:00:00Z"}""";

        await host.Handler.HandleAsync(payload, 1, CancellationToken.None);

        var status = await Tool.ToolRun.RunAsync(["status", "m-poison-status", "--connection-string", storage.ConnectionString]);
        Assert.True(status.Exit == 0, status.ToString());
        var lines = status.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains("@d.test: ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, lines.Count);
        Assert.All(lines, l => Assert.Matches(@"^[ce]@d\.test: failed .*reply=""poisoned: outbound envelope: messageBlob: blob 'gone\.eml' does not exist""", l));
    }

    [Fact]
    public async Task LineOver998_OtherProducer_PoisonedWithReason()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        var body = Convert.ToBase64String(MtaTestHost.Message("a@b.test", "c@d.test", body: new string('y', 999) + "\r\n"));
        var payload = $$"""{"id":"m-long","from":"a@b.test","to":["c@d.test"],"message":"{{body}}","queuedAt":"2026-01-01T00:00:00Z"}""";

        await host.Handler.HandleAsync(payload, 1, CancellationToken.None);

        Assert.Equal("outbound envelope: message: a line of 999 octets; at most 998 are allowed (RFC 5321 §4.5.3.1.6)", Assert.Single(await host.PoisonedAsync()).Reason);
        Assert.Equal(nameof(DeliveryState.Failed), (await host.StatusAsync("m-long"))["c@d.test"].State);
    }

    [Fact]
    public async Task Client_LineOver998_RefusedAtEnqueue()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        var message = MtaTestHost.Message(Sender, "c@d.test", body: "short\r\n" + new string('z', 999) + "\r\n");

        var e = await Assert.ThrowsAsync<EnvelopeFormatException>(() => host.SendAsync(Sender, ["c@d.test"], message));

        Assert.Equal("outbound envelope: message: line 10 is 999 octets; at most 998 are allowed (RFC 5321 §4.5.3.1.6): encode that part as quoted-printable or base64", e.Message);
        Assert.Equal(0, (await host.OutboundQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task Client_CommaList_RefusedNamingIt()
    {
        await using var host = await MtaTestHost.StartAsync(storage);

        var e = await Assert.ThrowsAsync<EnvelopeFormatException>(
            () => host.SendAsync(Sender, ["a@x.example,b@y.example"], MtaTestHost.Message(Sender, "a@x.example")));

        Assert.Equal("outbound envelope: to[0]: 'a@x.example,b@y.example' is a list; give each recipient as its own address", e.Message);
    }

    [Fact]
    public async Task Tool_CommaList_RefusedNamingIt()
    {
        var eml = Path.Combine(Directory.CreateTempSubdirectory("comma").FullName, "m.eml");
        await File.WriteAllBytesAsync(eml, MtaTestHost.Message(Sender, "a@x.example"));

        var run = await Tool.ToolRun.RunAsync(["send", "--from", Sender, "--to", "a@x.example,b@y.example", eml, "--connection-string", storage.ConnectionString]);

        Assert.True(run.Exit != 0, run.ToString());
        Assert.Contains("'a@x.example,b@y.example' is a list; give each recipient as its own address", run.Error);
    }

    [Fact]
    public async Task Worker_CommaListFromOtherProducer_PoisonedAtOnceWithReason()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        var body = Convert.ToBase64String(MtaTestHost.Message("a@b.test", "c@d.test"));
        var payload = $$"""{"id":"m-comma","from":"a@b.test","to":["a@x.example,b@y.example"],"message":"{{body}}","queuedAt":"2026-01-01T00:00:00Z"}""";

        await host.Handler.HandleAsync(payload, 1, CancellationToken.None);

        Assert.Equal("outbound envelope: to[0]: 'a@x.example,b@y.example' is a list; give each recipient as its own address", Assert.Single(await host.PoisonedAsync()).Reason);
    }

    [Theory]
    [InlineData("a@b.test", true)]
    [InlineData("first.last+tag@sub.example.com", true)]
    [InlineData("a@x.example,b@y.example", false)]
    [InlineData("a@x.example;b@y.example", false)]
    [InlineData("a b@x.example", false)]
    [InlineData("<a@x.example>", false)]
    [InlineData("a@", false)]
    [InlineData("@x.example", false)]
    [InlineData("a@x..example", false)]
    [InlineData("a(comment)@x.example", false)]
    public void MailAddressSyntax_SameParserAsWorker(string address, bool valid) =>
        Assert.Equal(valid, MailAddressSyntax.IsValid(address));

    [Fact]
    public async Task NoMxNoAddress_BouncedAtOnceWith512()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.Dns.Txt("nohost.test", "v=spf1 -all");
        host.AddDomain("sender.test", "mx.sender.test", "127.0.0.75");
        host.AddSmtpServer("127.0.0.75", host.Ca.IssueServer(["mx.sender.test"]));

        var id = await host.SendAsync(Sender, ["x@nohost.test"], MtaTestHost.Message(Sender, "x@nohost.test"));
        await host.PumpAsync(TimeSpan.FromSeconds(5), () => !host.Inbox.IsEmpty);

        var row = (await host.StatusAsync(id))["x@nohost.test"];
        Assert.Equal(nameof(DeliveryState.Bounced), row.State);
        Assert.Equal(1, row.Attempts);
        Assert.StartsWith("550 5.1.2 domain nohost.test has no MX and no A/AAAA record", row.LastReply);
        Assert.Equal([Sender], Assert.Single(host.Inbox).To);
    }

    [Fact]
    public async Task AaaaServFail_GoodA_DeliveredOverIpv4()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("v6fail.test", "mx.v6fail.test", "127.0.0.76");
        host.Dns.Fail("mx.v6fail.test", ARSoft.Tools.Net.Dns.RecordType.Aaaa);
        host.AddSmtpServer("127.0.0.76", host.Ca.IssueServer(["mx.v6fail.test"]));

        var id = await host.SendAsync(Sender, ["y@v6fail.test"], MtaTestHost.Message(Sender, "y@v6fail.test"));
        await host.PumpAsync();

        var row = (await host.StatusAsync(id))["y@v6fail.test"];
        Assert.Equal(nameof(DeliveryState.Delivered), row.State);
        Assert.Equal("127.0.0.76", row.RemoteIp);
    }

    [Fact]
    public async Task ConnectionLostAfterBody_Deferred_StatusSaysDuplicatePossible()
    {
        await using var host = await MtaTestHost.StartAsync(storage);
        host.AddDomain("dropped.test", "mx.dropped.test", "127.0.0.77");
        await using var server = new BrokenStartTlsSmtpServer(System.Net.IPAddress.Parse("127.0.0.77"), host.SmtpPort, StartTlsBreakage.NotOffered)
        {
            DropAfterBody = true,
        };

        var id = await host.SendAsync(Sender, ["z@dropped.test"], MtaTestHost.Message(Sender, "z@dropped.test"));
        await host.PumpAsync(TimeSpan.Zero);

        // The whole body reached the MX, then the connection went without a reply: deferred (RFC 5321
        // §4.1.1.4), and the status warns that the retry may make a second copy.
        Assert.NotEmpty(server.Inbox);
        var row = (await host.StatusAsync(id))["z@dropped.test"];
        Assert.Equal(nameof(DeliveryState.Deferred), row.State);
        Assert.Contains("a duplicate is possible", row.LastReply, StringComparison.Ordinal);
    }
}
