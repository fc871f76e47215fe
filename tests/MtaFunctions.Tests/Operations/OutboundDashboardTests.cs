using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core;
using MtaFunctions.Core.Operations;
using MtaFunctions.LocalHost;
using MtaFunctions.Tests.Infrastructure;
using MtaFunctions.Tests.Policy.Dane;

namespace MtaFunctions.Tests.Operations;

/// <summary>
/// The outbound view over real deliveries: a message to a DANE domain, a PKIX domain (one recipient accepted, one
/// refused for good, one deferred with a hostile reply text), a plaintext-only MX and a DANE MX without STARTTLS,
/// delivered by the real handler against the DNSSEC lab (NSD + validating Unbound) and loopback SMTP servers; the
/// LocalHost's routes on Kestrel; the page in headless Debian chromium.
/// </summary>
[Collection(DnssecLabCollection.Name)]
public sealed class OutboundDashboardTests(DnssecLab lab) : IAsyncLifetime
{
    private const string Sender = "sender@sender.example.test";
    private const string Hostile = "4.7.1 <img src=x onerror=\"window.__xss=1\"><script>window.__xss=2</script> try later";

    private readonly AzuriteFixture _storage = new();
    private readonly List<TestSmtpServer> _servers = [];
    private MtaTestHost _host = null!;
    private WebApplication _web = null!;
    private HttpClient _http = null!;
    private string _messageId = "";

    public async ValueTask InitializeAsync()
    {
        await _storage.InitializeAsync();
        _host = await MtaTestHost.StartAsync(
            _storage,
            ("Dns:Servers", lab.Resolver.ToString()),
            ("Dns:TrustedValidators", lab.Resolver.ToString()),
            ("Dns:Timeout", "5s"),
            ("Queue:Outbound:Smtp:Port", lab.SmtpPort.ToString(CultureInfo.InvariantCulture)),
            ("Queue:Outbound:Tls:ExtraRootCas", lab.Pki.PemFile),
            ("Queue:Outbound:Retry:Schedule", "1h"));

        Serve("ee311.test", lab["ee311.test"].Leaf);
        Serve("nodane.test", lab["nodane.test"].Leaf);
        Serve("unsigned.test", null);
        Serve("nostarttls.test", null);
        _servers[1].RecipientReplies["gone@nodane.test"] = (550, "5.1.1 No such user");
        _servers[1].RecipientReplies["hostile@nodane.test"] = (451, Hostile);

        string[] recipients = ["a@ee311.test", "b@nodane.test", "gone@nodane.test", "hostile@nodane.test", "c@unsigned.test", "d@nostarttls.test"];
        _messageId = await _host.SendAsync(Sender, recipients, MtaTestHost.Message(Sender, recipients[0]));

        // One pass of the trigger over the message itself; the DSN it queues stays on the queue.
        var message = Assert.Single((await _host.OutboundQueue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5))).Value);
        await _host.Handler.HandleAsync(message.Body.ToString(), message.DequeueCount, CancellationToken.None);
        await _host.OutboundQueue.DeleteMessageAsync(message.MessageId, message.PopReceipt);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddRouting().AddMtaCore(_host.Configuration);
        _web = builder.Build();
        _web.UseRouting();
        LocalHttpHost.MapRoutes(_web);
        await _web.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_web.Urls.First()) };
    }

    private void Serve(string domain, System.Security.Cryptography.X509Certificates.X509Certificate2? leaf)
    {
        var scenario = lab[domain];
        _servers.Add(leaf is null
            ? new TestSmtpServer(scenario.Address, lab.SmtpPort, null)
            : new TestSmtpServer(scenario.Address, lab.SmtpPort, leaf, scenario.Chain));
    }

    [Fact]
    public async Task Deliveries_RowsAsTheDeliveryLeftThem()
    {
        var rows = await _host.StatusAsync(_messageId);

        Assert.Equal(["Delivered", "Delivered", "Bounced", "Deferred", "Delivered", "Deferred"],
            new[] { "a@ee311.test", "b@nodane.test", "gone@nodane.test", "hostile@nodane.test", "c@unsigned.test", "d@nostarttls.test" }.Select(r => rows[r].State));
        Assert.Equal("dane", rows["a@ee311.test"].PolicyApplied);
        Assert.Null(rows["c@unsigned.test"].TlsVersion);
    }

    [Fact]
    public async Task SummaryJson_FiguresOfTheDeliveries()
    {
        var response = await _http.GetAsync("/api/outbound/summary", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var root = json.RootElement;

        Assert.False(root.GetProperty("truncated").GetBoolean());
        Assert.Equal(6, root.GetProperty("rowsRead").GetInt32());
        var totals = root.GetProperty("totals");
        Assert.Equal((3, 2, 1, 0), (totals.GetProperty("delivered").GetInt32(), totals.GetProperty("deferred").GetInt32(), totals.GetProperty("bounced").GetInt32(), totals.GetProperty("failed").GetInt32()));

        var hours = root.GetProperty("hours").EnumerateArray().ToList();
        Assert.Equal(24, hours.Count);
        Assert.Equal(3, hours.Sum(h => h.GetProperty("outcomes").GetProperty("delivered").GetInt32()));
        Assert.Equal(2, hours.Sum(h => h.GetProperty("outcomes").GetProperty("deferred").GetInt32()));
        Assert.Equal(1, hours.Sum(h => h.GetProperty("outcomes").GetProperty("bounced").GetInt32()));

        var tls = root.GetProperty("tls");
        Assert.Equal(3, tls.GetProperty("delivered").GetInt32());
        Assert.Equal(
            ["dane=1/33.33", "sts=0/0", "pkix=1/33.33", "encrypted=0/0", "plaintext=1/33.33"],
            new[] { "dane", "sts", "pkix", "encrypted", "plaintext" }.Select(p =>
                $"{p}={tls.GetProperty("counts").GetProperty(p).GetInt32()}/{tls.GetProperty("shares").GetProperty(p).GetDouble().ToString(CultureInfo.InvariantCulture)}"));

        var deferrals = root.GetProperty("topDeferrals").EnumerateArray().ToList();
        Assert.Equal(["nodane.test", "nostarttls.test"], deferrals.Select(d => d.GetProperty("domain").GetString()));
        var stored = (await _host.StatusAsync(_messageId))["hostile@nodane.test"].LastReply!;
        Assert.StartsWith("451 " + Hostile, stored, StringComparison.Ordinal);
        Assert.Equal(stored, deferrals[0].GetProperty("reason").GetString());
        Assert.All(deferrals, d => Assert.Equal(1, d.GetProperty("recipients").GetInt32()));

        // The queue now: the two hidden retries and the DSN; the oldest is the message itself.
        var queue = root.GetProperty("queue");
        var length = (await _host.OutboundQueue.GetPropertiesAsync(TestContext.Current.CancellationToken)).Value.ApproximateMessagesCount;
        Assert.True(length >= 1);
        Assert.Equal(length, queue.GetProperty("length").GetInt64());
        Assert.Equal(1, queue.GetProperty("deferredMessages").GetInt32());
        var queuedAt = (await _host.StatusAsync(_messageId))["d@nostarttls.test"].QueuedAt!.Value;
        Assert.Equal(queuedAt, queue.GetProperty("oldestQueuedAt").GetDateTimeOffset());
        Assert.True(queue.GetProperty("oldestAgeSeconds").GetDouble() >= 0);
    }

    [Fact]
    public async Task Summary_MoreRowsThanTheCap_TruncatedAndSaysSo()
    {
        var reader = new OutboundSummaryReader(Core.Storage.StorageAccount.FromConnectionString(_storage.ConnectionString), TimeProvider.System) { RowCap = 2 };

        var summary = await reader.ReadAsync(24, TestContext.Current.CancellationToken);

        Assert.True(summary.Truncated);
        Assert.Equal(2, summary.RowsRead);
        Assert.Equal(2, summary.Totals.Delivered + summary.Totals.Deferred + summary.Totals.Bounced + summary.Totals.Failed);
        Assert.False(summary.Queue.Truncated);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("169")]
    [InlineData("abc")]
    [InlineData("-5")]
    public async Task SummaryJson_BadHours_400NamingIt(string hours)
    {
        var response = await _http.GetAsync($"/api/outbound/summary?hours={Uri.EscapeDataString(hours)}", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal($"hours: '{hours}' is not a whole number from 1 to 168", json.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Dashboard_InChromium_ShowsTheFiguresAndHostileReasonsAsText()
    {
        await using var chromium = await HeadlessChromium.LaunchAsync();
        var page = chromium.Page;

        await page.GotoAsync(new Uri(_http.BaseAddress!, "/api/outbound/dashboard?hours=6&code=k3y").ToString());
        await page.WaitForSelectorAsync("#dashboard[data-state=ready]", new PageWaitForSelectorOptions { Timeout = 30_000 });

        Assert.Equal("3", await page.TextContentAsync("#total-delivered"));
        Assert.Equal("2", await page.TextContentAsync("#total-deferred"));
        Assert.Equal("1", await page.TextContentAsync("#total-bounced"));
        Assert.Equal("0", await page.TextContentAsync("#total-failed"));
        var length = (await _host.OutboundQueue.GetPropertiesAsync(TestContext.Current.CancellationToken)).Value.ApproximateMessagesCount;
        Assert.Equal(length.ToString(CultureInfo.InvariantCulture), await page.TextContentAsync("#queue-length"));
        Assert.Matches(@"^\d+ (s|min)$", await page.TextContentAsync("#queue-oldest"));

        // Per hour: six bars (hours=6), whose figures add up to the totals; a stacked rect per outcome present.
        var bars = await page.Locator("#hours-chart g.hour-bar").EvaluateAllAsync<string[]>(
            "nodes => nodes.map(n => [n.dataset.delivered, n.dataset.deferred, n.dataset.bounced, n.dataset.failed].join('|'))");
        Assert.Equal(6, bars.Length);
        Assert.Equal([3, 2, 1, 0], Enumerable.Range(0, 4).Select(i => bars.Sum(b => int.Parse(b.Split('|')[i], CultureInfo.InvariantCulture))));
        Assert.True(await page.Locator("#hours-chart rect.outcome-delivered").CountAsync() >= 1);
        Assert.True(await page.Locator("#hours-chart rect.outcome-bounced").CountAsync() >= 1);

        // TLS posture: one bar per class, the DANE, PKIX and plaintext thirds.
        var tls = await page.Locator("#tls-chart rect.tls-bar").EvaluateAllAsync<string[]>(
            "nodes => nodes.map(n => n.dataset.posture + '|' + n.dataset.count + '|' + n.dataset.share)");
        Assert.Equal(["dane|1|33.33", "sts|0|0", "pkix|1|33.33", "encrypted|0|0", "plaintext|1|33.33"], tls);

        // Deferral reasons: the hostile reply is shown as its text; no element of it exists and no script of it ran.
        var rows = await page.Locator("#deferrals tbody tr").EvaluateAllAsync<string[]>(
            "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent).join('|'))");
        Assert.Equal(2, rows.Length);
        var stored = (await _host.StatusAsync(_messageId))["hostile@nodane.test"].LastReply!;
        Assert.Equal("nodane.test|" + stored + "|1", rows[0]);
        Assert.StartsWith("nostarttls.test|", rows[1], StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("#deferrals img, #deferrals script").CountAsync());
        Assert.Equal("undefined", await page.EvaluateAsync<string>("() => typeof window.__xss"));

        // The same function key opens the inbound view.
        Assert.Equal("../tlsrpt/dashboard?code=k3y", await page.GetAttributeAsync("#inbound-link", "href"));
        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task FunctionTriggers_SameHandlerAndTheFunctionKeyOfTheInboundView()
    {
        var handler = _web.Services.GetRequiredService<OutboundHttpHandler>();
        var context = new DefaultHttpContext();
        context.Request.QueryString = new QueryString("?hours=2");

        var summary = Assert.IsType<ContentResult>(await new ShowOutbound(handler).Summary(context.Request, TestContext.Current.CancellationToken));
        var page = Assert.IsType<ContentResult>(new ShowOutbound(handler).Dashboard(new DefaultHttpContext().Request));

        Assert.Equal(200, summary.StatusCode);
        Assert.Contains("\"totals\":{\"delivered\":3,\"deferred\":2,\"bounced\":1,\"failed\":0}", summary.Content, StringComparison.Ordinal);
        Assert.Equal(OutboundDashboard.Html, page.Content);

        // The same key rule as the TLS-RPT view: both routes take the function key.
        foreach (var method in new[] { nameof(ShowOutbound.Summary), nameof(ShowOutbound.Dashboard) })
        {
            var ours = typeof(ShowOutbound).GetMethod(method)!.GetParameters()[0].GetCustomAttribute<HttpTriggerAttribute>()!;
            var theirs = typeof(ShowTlsReports).GetMethod(method)!.GetParameters()[0].GetCustomAttribute<HttpTriggerAttribute>()!;
            Assert.Equal(AuthorizationLevel.Function, ours.AuthLevel);
            Assert.Equal(theirs.AuthLevel, ours.AuthLevel);
            Assert.Equal(["get"], ours.Methods ?? []);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http?.Dispose();
        if (_web is not null)
        {
            await _web.StopAsync();
            await _web.DisposeAsync();
        }

        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        await _host.DisposeAsync();
        await _storage.DisposeAsync();
    }
}
