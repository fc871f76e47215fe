using System.Text.Json;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Tool;

/// <summary>
/// The <c>mta</c> tool's storage verbs end to end: Azurite, the real delivery handler, SMTP servers on loopback.
/// </summary>
public sealed class MtaToolQueueTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    private string[] Storage => ["--connection-string", storage.ConnectionString];

    private static Task<MtaTestHost> StartAsync(AzuriteFixture storage) =>
        MtaTestHost.StartAsync(storage, ("Queue:Outbound:Retry:Schedule", "1h"));

    [Theory]
    [InlineData("")]
    [InlineData("send")]
    [InlineData("status")]
    [InlineData("queue")]
    [InlineData("queue list")]
    [InlineData("queue show")]
    [InlineData("queue retry")]
    [InlineData("queue cancel")]
    [InlineData("poison")]
    [InlineData("poison list")]
    [InlineData("poison show")]
    [InlineData("poison requeue")]
    [InlineData("sts show")]
    [InlineData("sts purge")]
    [InlineData("dane check")]
    [InlineData("tlsrpt pending")]
    [InlineData("tlsrpt send")]
    [InlineData("check")]
    public async Task Help_EveryVerb_ExitsZeroWithUsage(string verb)
    {
        var run = await ToolRun.RunAsync([.. verb.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"]);

        Assert.True(run.Exit == 0, run.ToString());
        Assert.Contains("Usage:", run.Out, StringComparison.Ordinal);
        Assert.Contains($"mta {verb}".TrimEnd(), run.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "frobnicate" }, "frobnicate")]
    [InlineData(new[] { "queue" }, "Required command was not provided")]
    [InlineData(new[] { "status" }, "Required argument 'ID' missing")]
    [InlineData(new[] { "send", "--to", "a@b.test", "x.eml" }, "--from")]
    [InlineData(new[] { "queue", "retry" }, "retry takes exactly one of ID, --domain DOMAIN, --all-deferred")]
    [InlineData(new[] { "queue", "retry", "abc", "--all-deferred" }, "retry takes exactly one of")]
    [InlineData(new[] { "queue", "list", "--set", "novalue" }, "--set 'novalue': expected Key=value")]
    [InlineData(new[] { "queue", "list", "--set", "Queue__Outbound__Tls__Dane=sometimes" }, "'sometimes' is not one of optional, require, disable")]
    [InlineData(new[] { "queue", "list", "--settings", "/nonexistent/local.settings.json" }, "does not exist")]
    public async Task BadCommandLine_ExitsTwoNamingTheProblem(string[] args, string reason)
    {
        var run = await ToolRun.RunAsync([.. args, "--connection-string", "UseDevelopmentStorage=true"]);

        Assert.True(run.Exit == 2, run.ToString());
        Assert.Contains(reason, run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendThenStatus_DeliveredAndJsonParsesBack()
    {
        await using var host = await StartAsync(storage);
        host.AddDomain("send.tool.test", "mx.send.tool.test", "127.0.0.61");
        host.AddSmtpServer("127.0.0.61", host.Ca.IssueServer(["mx.send.tool.test"]));
        var eml = Path.Combine(Directory.CreateTempSubdirectory("tool").FullName, "message.eml");
        var bytes = MtaTestHost.Message(Sender, "c@send.tool.test");
        await File.WriteAllBytesAsync(eml, bytes, TestContext.Current.CancellationToken);

        var send = await ToolRun.RunAsync(["send", "--from", Sender, "--to", "c@send.tool.test", "--to", "d@send.tool.test", eml, .. Storage]);
        Assert.True(send.Exit == 0, send.ToString());
        var id = send.Out.Trim();
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", id);

        var queued = await ToolRun.RunAsync(["status", id, "--json", .. Storage]);
        Assert.True(queued.Exit == 0, queued.ToString());
        Assert.Equal("queued", queued.Json().GetProperty("state").GetString());

        await host.PumpAsync();
        var text = await ToolRun.RunAsync(["status", id, .. Storage]);
        Assert.True(text.Exit == 0, text.ToString());
        var lines = text.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.Matches(@"^[cd]@send\.tool\.test: delivered attempts=1 mx=mx\.send\.tool\.test ip=127\.0\.0\.61 tls=Tls1[23] TLS_\S+ cert=""CN=mx\.send\.tool\.test"" verified=yes policy=", l));

        var json = (await ToolRun.RunAsync(["status", id, "--json", .. Storage])).Json();
        Assert.Equal(id, json.GetProperty("id").GetString());
        Assert.Equal("attempted", json.GetProperty("state").GetString());
        var recipients = json.GetProperty("recipients").EnumerateArray().ToList();
        Assert.Equal(["c@send.tool.test", "d@send.tool.test"], recipients.Select(r => r.GetProperty("recipient").GetString()).Order());
        Assert.All(recipients, r => Assert.Equal("Delivered", r.GetProperty("state").GetString()));
        AssertSameMessage(bytes, Assert.Single(host.Inbox).Data);
    }

    [Fact]
    public async Task Status_UnknownId_ExitsOneAndSaysSo()
    {
        await using var host = await StartAsync(storage);

        var run = await ToolRun.RunAsync(["status", "no-such-message", .. Storage]);

        Assert.True(run.Exit == 1, run.ToString());
        Assert.Contains("unknown message id 'no-such-message'", run.Error, StringComparison.Ordinal);
        Assert.Equal("", run.Out);
    }

    [Fact]
    public async Task Deferred_ListedThenRetriedNow_Delivered()
    {
        await using var host = await StartAsync(storage);
        host.AddDomain("retry.tool.test", "mx.retry.tool.test", "127.0.0.62");
        var server = host.AddSmtpServer("127.0.0.62", host.Ca.IssueServer(["mx.retry.tool.test"]));
        server.RecipientReplies["r@retry.tool.test"] = (451, "4.2.1 Mailbox busy, try later");
        var id = await host.SendAsync(Sender, ["r@retry.tool.test"], MtaTestHost.Message(Sender, "r@retry.tool.test"));
        await host.PumpAsync();
        Assert.Equal("Deferred", (await host.StatusAsync(id))["r@retry.tool.test"].State);

        var list = await ToolRun.RunAsync(["queue", "list", "--json", .. Storage]);
        Assert.True(list.Exit == 0, list.ToString());
        var entry = Assert.Single(list.Json().EnumerateArray(), e => e.GetProperty("messageId").GetString() == id);
        Assert.Equal("deferred", entry.GetProperty("state").GetString());
        Assert.Equal(["r@retry.tool.test"], entry.GetProperty("recipients").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("retry.tool.test", entry.GetProperty("domain").GetString());
        Assert.Equal(1, entry.GetProperty("attempts").GetInt32());
        Assert.Equal("mx.retry.tool.test", entry.GetProperty("mxHost").GetString());
        Assert.Contains("451 4.2.1 Mailbox busy", entry.GetProperty("lastReply").GetString(), StringComparison.Ordinal);
        Assert.True(entry.GetProperty("nextAttemptAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(50));
        var text = await ToolRun.RunAsync(["queue", "list", .. Storage]);
        Assert.Matches($@"(?m)^{id}\s+retry\.tool\.test\s+deferred\s+1\s+", text.Out);

        // Nothing is visible: a pump now handles nothing. The receiver recovers; retry brings the attempt forward.
        Assert.Equal(0, await host.PumpAsync(TimeSpan.Zero));
        server.RecipientReplies.Clear();
        var retry = await ToolRun.RunAsync(["queue", "retry", id, .. Storage]);
        Assert.True(retry.Exit == 0, retry.ToString());
        Assert.Contains($"{id} retry.tool.test: queued for an attempt now", retry.Out, StringComparison.Ordinal);

        Assert.Equal(1, await host.PumpAsync(TimeSpan.Zero));
        var row = (await host.StatusAsync(id))["r@retry.tool.test"];
        Assert.Equal("Delivered", row.State);
        Assert.Equal(2, row.Attempts);
        Assert.Single(host.Inbox);

        var after = await ToolRun.RunAsync(["queue", "retry", id, .. Storage]);
        Assert.True(after.Exit == 1, after.ToString());
        Assert.Contains("no deferred message matches", after.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RetryByDomain_OnlyThatDomainComesForward()
    {
        await using var host = await StartAsync(storage);
        host.AddDomain("one.retry.test", "mx.one.retry.test", "127.0.0.63");
        host.AddDomain("two.retry.test", "mx.two.retry.test", "127.0.0.64");
        var one = host.AddSmtpServer("127.0.0.63", host.Ca.IssueServer(["mx.one.retry.test"]));
        var two = host.AddSmtpServer("127.0.0.64", host.Ca.IssueServer(["mx.two.retry.test"]));
        one.RecipientReplies["a@one.retry.test"] = (421, "4.3.2 Not now");
        two.RecipientReplies["b@two.retry.test"] = (421, "4.3.2 Not now");
        var id = await host.SendAsync(Sender, ["a@one.retry.test", "b@two.retry.test"], MtaTestHost.Message(Sender, "a@one.retry.test"));
        await host.PumpAsync();
        one.RecipientReplies.Clear();
        two.RecipientReplies.Clear();

        var retry = await ToolRun.RunAsync(["queue", "retry", "--domain", "ONE.retry.test", .. Storage]);
        Assert.True(retry.Exit == 0, retry.ToString());
        Assert.Equal(1, await host.PumpAsync(TimeSpan.Zero));

        var rows = await host.StatusAsync(id);
        Assert.Equal("Delivered", rows["a@one.retry.test"].State);
        Assert.Equal("Deferred", rows["b@two.retry.test"].State);
    }

    [Fact]
    public async Task Cancel_Deferred_BouncedWithDsnToSender()
    {
        await using var host = await StartAsync(storage);
        host.AddDomain("cancel.tool.test", "mx.cancel.tool.test", "127.0.0.65");
        host.AddDomain("sender.test", "mx.sender.test", "127.0.0.66");
        var server = host.AddSmtpServer("127.0.0.65", host.Ca.IssueServer(["mx.cancel.tool.test"]));
        host.AddSmtpServer("127.0.0.66", host.Ca.IssueServer(["mx.sender.test"]));
        server.RecipientReplies["x@cancel.tool.test"] = (450, "4.2.0 Greylisted");
        var id = await host.SendAsync(Sender, ["x@cancel.tool.test"], MtaTestHost.Message(Sender, "x@cancel.tool.test", subject: "cancel me"));
        await host.PumpAsync();

        var cancel = await ToolRun.RunAsync(["queue", "cancel", id, .. Storage]);
        Assert.True(cancel.Exit == 0, cancel.ToString());
        Assert.Contains("cancelled, bounced: a DSN goes to the sender; queued for an attempt now", cancel.Out, StringComparison.Ordinal);
        var listed = (await ToolRun.RunAsync(["queue", "list", "--json", .. Storage])).Json();
        var ofMessage = listed.EnumerateArray().Where(e => e.GetProperty("messageId").GetString() == id).ToList();
        Assert.Equal("bounce", Assert.Single(ofMessage, e => e.GetProperty("state").GetString() == "deferred").GetProperty("cancelRequested").GetString());
        Assert.Single(ofMessage, e => e.GetProperty("state").GetString() == "queued");

        await host.PumpAsync(TimeSpan.Zero);
        var row = (await host.StatusAsync(id))["x@cancel.tool.test"];
        Assert.Equal("Bounced", row.State);
        Assert.Equal(OutboundDeliveryHandler.CancelledReply, row.LastReply);
        Assert.Equal(1, server.RecipientAttempts["x@cancel.tool.test"]);

        // The DSN reaches the sender's MX: RFC 3464, naming the recipient and the reason, with the original headers.
        var dsn = Assert.Single(host.Inbox);
        Assert.Equal("", dsn.From);
        Assert.Equal([Sender], dsn.To);
        var text = System.Text.Encoding.UTF8.GetString(dsn.Data);
        Assert.Contains("report-type=delivery-status", text, StringComparison.Ordinal);
        Assert.Contains("<x@cancel.tool.test>: 550 5.0.0 cancelled by the operator", text, StringComparison.Ordinal);
        Assert.Contains("Subject: cancel me", text, StringComparison.Ordinal);

        var again = await ToolRun.RunAsync(["queue", "cancel", id, .. Storage]);
        Assert.True(again.Exit == 1, again.ToString());
    }

    [Fact]
    public async Task CancelDrop_Deferred_FailedWithoutDsn()
    {
        await using var host = await StartAsync(storage);
        host.AddDomain("drop.tool.test", "mx.drop.tool.test", "127.0.0.67");
        var server = host.AddSmtpServer("127.0.0.67", host.Ca.IssueServer(["mx.drop.tool.test"]));
        server.RecipientReplies["y@drop.tool.test"] = (450, "4.2.0 Greylisted");
        var id = await host.SendAsync(Sender, ["y@drop.tool.test"], MtaTestHost.Message(Sender, "y@drop.tool.test"));
        await host.PumpAsync();

        var cancel = await ToolRun.RunAsync(["queue", "cancel", id, "--drop", .. Storage]);
        Assert.True(cancel.Exit == 0, cancel.ToString());
        Assert.Contains("dropped without a DSN", cancel.Out, StringComparison.Ordinal);
        Assert.Equal(1, await host.PumpAsync(TimeSpan.Zero));

        Assert.Equal("Failed", (await host.StatusAsync(id))["y@drop.tool.test"].State);
        Assert.Equal(0, (await host.OutboundQueue.GetPropertiesAsync(TestContext.Current.CancellationToken)).Value.ApproximateMessagesCount);
        Assert.Empty(host.Inbox);
    }

    [Fact]
    public async Task Poisoned_ListedShownThenRequeued_Delivered()
    {
        await using var host = await StartAsync(storage);
        host.AddDomain("poison.tool.test", "mx.poison.tool.test", "127.0.0.68");
        host.AddSmtpServer("127.0.0.68", host.Ca.IssueServer(["mx.poison.tool.test"]));
        const string id = "poisoned-by-missing-blob";
        var payload = $$"""{"id":"{{id}}","from":"{{Sender}}","to":["p@poison.tool.test"],"messageBlob":"{{id}}.eml","queuedAt":"{{DateTimeOffset.UtcNow:O}}","recipientCount":1}""";
        await host.Handler.HandleAsync(payload, 1, CancellationToken.None);

        var status = await ToolRun.RunAsync(["status", id, .. Storage]);
        Assert.True(status.Exit == 0, status.ToString());
        Assert.Contains($"{id}: poisoned (will not be delivered): outbound envelope: messageBlob: blob '{id}.eml' does not exist", status.Out, StringComparison.Ordinal);

        var list = await ToolRun.RunAsync(["poison", "list", "--json", .. Storage]);
        Assert.True(list.Exit == 0, list.ToString());
        var entry = Assert.Single(list.Json().EnumerateArray());
        Assert.Equal(id, entry.GetProperty("envelopeId").GetString());
        Assert.Contains("does not exist", entry.GetProperty("reason").GetString(), StringComparison.Ordinal);
        var show = await ToolRun.RunAsync(["poison", "show", id, "--json", .. Storage]);
        Assert.Equal(payload, show.Json().GetProperty("payload").GetString());

        // The operator restores the blob, then requeues: the payload goes back unchanged and is delivered.
        var bytes = MtaTestHost.Message(Sender, "p@poison.tool.test");
        var container = storage.Blobs.GetBlobContainerClient(StorageNames.MessageContainer);
        await container.CreateIfNotExistsAsync(cancellationToken: TestContext.Current.CancellationToken);
        await container.UploadBlobAsync($"{id}.eml", BinaryData.FromBytes(bytes), TestContext.Current.CancellationToken);
        var requeue = await ToolRun.RunAsync(["poison", "requeue", id, .. Storage]);
        Assert.True(requeue.Exit == 0, requeue.ToString());
        Assert.Empty(await host.PoisonedAsync());

        await host.PumpAsync();
        Assert.Equal("Delivered", (await host.StatusAsync(id))["p@poison.tool.test"].State);
        AssertSameMessage(bytes, Assert.Single(host.Inbox).Data);
        var missing = await ToolRun.RunAsync(["poison", "requeue", id, .. Storage]);
        Assert.True(missing.Exit == 1, missing.ToString());
    }

    [Fact]
    public async Task PoisonRequeue_InvalidPayload_StaysWithReason()
    {
        await using var host = await StartAsync(storage);
        await host.Handler.HandleAsync("""{"id":"bad id!","from":"a@b.test","to":[]}""", 1, CancellationToken.None);
        var queueId = (await host.PoisonQueue.PeekMessagesAsync(1, TestContext.Current.CancellationToken)).Value[0].MessageId;

        var requeue = await ToolRun.RunAsync(["poison", "requeue", queueId, .. Storage]);

        Assert.True(requeue.Exit == 1, requeue.ToString());
        Assert.Contains("stays in the poison queue: it would be poisoned again", requeue.Error, StringComparison.Ordinal);
        Assert.Single(await host.PoisonedAsync());
        var text = await ToolRun.RunAsync(["poison", "list", .. Storage]);
        Assert.Contains(queueId, text.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Settings_FileBesideFunctionApp_ThenSetOverrides()
    {
        await using var host = await StartAsync(storage);
        var root = Directory.CreateTempSubdirectory("repo").FullName;
        Directory.CreateDirectory(Path.Combine(root, "functions", "MtaFunctions"));
        await File.WriteAllTextAsync(Path.Combine(root, "functions", "MtaFunctions", "local.settings.json"), JsonSerializer.Serialize(new
        {
            IsEncrypted = false,
            Values = new Dictionary<string, string> { ["AzureWebJobsStorage"] = storage.ConnectionString, ["Report__Tls__Aggregate__Send"] = "never" },
        }), TestContext.Current.CancellationToken);

        var fromFile = await ToolRun.RunAsync(["tlsrpt", "pending"], workingDirectory: root);
        Assert.True(fromFile.Exit == 0, fromFile.ToString());
        Assert.Contains("TLS reports are off", fromFile.Out, StringComparison.Ordinal);

        // --set wins over the file: reports on without a DKIM signature cannot be used, and the tool says why.
        var overridden = await ToolRun.RunAsync(["tlsrpt", "pending", "--set", "Report__Tls__Aggregate__Send=hourly"], workingDirectory: root);
        Assert.True(overridden.Exit == 1, overridden.ToString());
        Assert.Contains("TLS reports are OFF because a report setting cannot be used (delivery runs): setting Report:Tls:Aggregate:Sign:", overridden.Out, StringComparison.Ordinal);
    }

    // SMTP's end of data takes the message's last CRLF (RFC 5321 §4.1.1.4); the test server hands the rest over.
    // The MTA adds one Received: field on top (RFC 5321 §4.4); the rest is the queued bytes.
    private static void AssertSameMessage(byte[] queued, byte[] received)
    {
        var text = System.Text.Encoding.ASCII.GetString(received);
        Assert.Matches("^Received: (from [A-Za-z0-9.-]+ )?by ", text);
        var body = text[(text.IndexOf("\r\n", text.IndexOf("\r\n", StringComparison.Ordinal) + 2, StringComparison.Ordinal) + 2)..];
        Assert.Equal(System.Text.Encoding.ASCII.GetString(queued).TrimEnd('\r', '\n'), body.TrimEnd('\r', '\n'));
    }
}
