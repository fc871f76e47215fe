using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.Inbound;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Core.Storage;
using MtaFunctions.LocalHost;
using MtaFunctions.Tests.Reporting.TlsRpt;

namespace MtaFunctions.Tests.Reporting.Inbound;

/// <summary>The TLS-RPT routes through real HTTP on loopback (LocalHost's Kestrel), stored in Azurite.</summary>
public sealed class TlsRptEndpointTests(TlsRptHostFixture fixture) : IClassFixture<TlsRptHostFixture>
{
    private const string ReportPath = "/api/tlsrpt";
    private const string MailPath = "/api/tlsrpt/mail";

    private HttpClient Http => fixture.Http;

    [Fact]
    public async Task PostReport_Rfc8460Sample_StoredAndSummarised()
    {
        var normalized = TlsRptFixtures.Bytes(TlsRptFixtures.AppendixBNormalized);
        var joined = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(TlsRptFixtures.Bytes(TlsRptFixtures.AppendixBJoined))
            .Replace("5065427c-23d3-47ca-b6e0-946ea0e8c4be", "5065427c-23d3-47ca-b6e0-946ea0e8c4bf", StringComparison.Ordinal));

        var first = await TlsRptHostFixture.PostAsync(Http, ReportPath, normalized, TlsRptMediaTypes.Json);
        var second = await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptHostFixture.Gzip(joined), TlsRptMediaTypes.Gzip);

        Assert.Equal(202, first.Status);
        Assert.Contains("\"status\":\"stored\"", first.Body, StringComparison.Ordinal);
        Assert.Equal(202, second.Status);
        using var summary = await SummaryAsync("company-y.example", "2016-04-01", "2016-04-01");
        var totals = summary.RootElement.GetProperty("totals");
        Assert.Equal(2, totals.GetProperty("reports").GetInt32());
        Assert.Equal(2 * 5326, totals.GetProperty("successful").GetInt64());
        Assert.Equal(2 * 303, totals.GetProperty("failed").GetInt64());
        Assert.Equal(
            [("starttls-not-supported", 400L), ("certificate-expired", 200L), ("validation-failure", 6L)],
            Named(summary.RootElement.GetProperty("failuresByResultType")));
    }

    [Fact]
    public async Task PostReport_GoogleAndMicrosoftShapes_StoredWithTheirFigures()
    {
        var results = new[]
        {
            await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptHostFixture.Gzip(TlsRptFixtures.Bytes(TlsRptFixtures.GoogleSts)), TlsRptMediaTypes.Gzip),
            await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptHostFixture.Gzip(TlsRptFixtures.Bytes(TlsRptFixtures.GoogleNoPolicy)), TlsRptMediaTypes.PlainGzip),
            await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptFixtures.Bytes(TlsRptFixtures.MicrosoftSts), TlsRptMediaTypes.Json),
            await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptFixtures.Bytes(TlsRptFixtures.MicrosoftFetchError), "application/json; charset=utf-8"),
        };

        Assert.All(results, r => Assert.Equal(202, r.Status));
        using var summary = await SummaryAsync("mta.example", "2026-11-20", "2026-11-21");
        var days = summary.RootElement.GetProperty("days").EnumerateArray().ToList();
        Assert.Equal(["2026-11-20", "2026-11-21"], days.Select(d => d.GetProperty("date").GetString()));
        Assert.Equal((1207L + 530, 14L + 9), Figures(days[0]));
        Assert.Equal((42L, 2L + 4), Figures(days[1]));
        Assert.Equal(
            [("Google Inc.", 2, 1249L, 16L), ("Microsoft Corporation", 2, 530L, 13L)],
            summary.RootElement.GetProperty("organizations").EnumerateArray().Select(o =>
                (o.GetProperty("organization").GetString()!, o.GetProperty("figures").GetProperty("reports").GetInt32(), o.GetProperty("figures").GetProperty("successful").GetInt64(), o.GetProperty("figures").GetProperty("failed").GetInt64())));
    }

    [Fact]
    public async Task PostReport_Stored_KeepsTheRawReportInABlob()
    {
        var json = TlsRptReports.Json(TlsRptReports.Sts("Raw Org", "raw-1", "mta.example", new DateOnly(2026, 9, 1), 3));

        var result = await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptHostFixture.Gzip(json), TlsRptMediaTypes.Gzip);

        Assert.Equal(202, result.Status);
        var raw = await fixture.Host.Services.GetRequiredService<ReceivedTlsReportStore>().ReadRawAsync(ReceivedTlsReport.KeyOf("Raw Org", "raw-1", json), new DateOnly(2026, 9, 1), CancellationToken.None);
        Assert.Equal(json, raw!.ToArray());
    }

    [Fact]
    public async Task PostReport_SameReportTwice_StoredOnce()
    {
        var report = TlsRptReports.Sts("Dup Org", "dup-1+mta.example", "mta.example", new DateOnly(2026, 10, 1), 10, ("certificate-expired", "mx1.mta.example", 2));
        var json = TlsRptReports.Json(report);

        var first = await TlsRptHostFixture.PostAsync(Http, ReportPath, json, TlsRptMediaTypes.Json);
        var again = await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptHostFixture.Gzip(json), TlsRptMediaTypes.Gzip);

        Assert.Equal(202, first.Status);
        Assert.Equal(200, again.Status);
        Assert.Contains("\"status\":\"duplicate\"", again.Body, StringComparison.Ordinal);
        using var summary = await SummaryAsync("mta.example", "2026-10-01", "2026-10-01");
        Assert.Equal((10L, 2L), Figures(summary.RootElement.GetProperty("totals")));
        Assert.Equal(1, summary.RootElement.GetProperty("totals").GetProperty("reports").GetInt32());
    }

    [Fact]
    public async Task PostReport_SameReportConcurrently_StoredOnce()
    {
        var json = TlsRptReports.Json(TlsRptReports.Sts("Race Org", "race-1", "mta.example", new DateOnly(2026, 10, 2), 6, ("tlsa-invalid", "mx.mta.example", 1)));

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => TlsRptHostFixture.PostAsync(Http, ReportPath, json, TlsRptMediaTypes.Json)));

        Assert.Single(results, r => r.Status == 202);
        Assert.All(results, r => Assert.True(r.Status is 200 or 202, r.Body));
        using var summary = await SummaryAsync("mta.example", "2026-10-02", "2026-10-02");
        Assert.Equal((6L, 1L), Figures(summary.RootElement.GetProperty("totals")));
    }

    [Fact]
    public async Task GetSummary_NoDomain_AddsUpAllOurDomains()
    {
        var day = new DateOnly(2026, 1, 15);
        await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptReports.Json(TlsRptReports.Sts("All Org", "all-1", "mta.example", day, 8)), TlsRptMediaTypes.Json);
        await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptReports.Json(TlsRptReports.Sts("All Org", "all-2", "mail.example", day, 5, ("dnssec-invalid", "mx.mail.example", 5))), TlsRptMediaTypes.Json);

        using var response = await Http.GetAsync("/api/tlsrpt/summary?from=2026-01-15&to=2026-01-15", TestContext.Current.CancellationToken);
        using var summary = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));

        Assert.False(summary.RootElement.TryGetProperty("domain", out _));
        Assert.Equal((13L, 5L), Figures(summary.RootElement.GetProperty("totals")));
        Assert.Equal(2, summary.RootElement.GetProperty("totals").GetProperty("reports").GetInt32());
        Assert.Equal(
            ["mail.example", "mta.example"],
            summary.RootElement.GetProperty("domains").EnumerateArray().Select(d => d.GetProperty("domain").GetString()));
    }

    public static TheoryData<string, byte[], string?, int, string> ErrorRows()
    {
        var valid = TlsRptReports.Json(TlsRptReports.Sts("Err Org", "err-1", "mta.example", new DateOnly(2026, 8, 1), 1));
        var gzip = TlsRptHostFixture.Gzip(valid);
        return new()
        {
            { "text/plain is no report type", valid, "text/plain", 415, "media type 'text/plain' is not a TLS report" },
            { "no Content-Type", valid, null, 415, "Content-Type is missing" },
            { "multipart is no report type", valid, "multipart/form-data; boundary=x", 415, "media type 'multipart/form-data'" },
            { "body over the limit", new byte[TlsRptHostFixture.MaxBodySize + 1], TlsRptMediaTypes.Json, 413, $"larger than {TlsRptHostFixture.MaxBodySize} bytes" },
            { "truncated gzip", gzip[..(gzip.Length / 2)], TlsRptMediaTypes.Gzip, 400, "gzip: truncated or corrupt" },
            { "gzip without its trailer", gzip[..^8], TlsRptMediaTypes.Gzip, 400, "gzip: truncated or corrupt" },
            { "corrupt gzip", [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], TlsRptMediaTypes.Gzip, 400, "gzip: " },
            { "invalid JSON", "{\"organization-name\":"u8.ToArray(), TlsRptMediaTypes.Json, 400, "tls-rpt report: report: not valid JSON" },
            { "JSON that is no report", "{\"hello\":1}"u8.ToArray(), TlsRptMediaTypes.Json, 400, "tls-rpt report: organization-name: is missing" },
            { "a count that is no count", Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(valid).Replace("\"total-successful-session-count\":1", "\"total-successful-session-count\":-1", StringComparison.Ordinal)), TlsRptMediaTypes.Json, 400, "policies[0].summary.total-successful-session-count" },
            { "empty body", [], TlsRptMediaTypes.Json, 400, "not valid JSON" },
            { "RFC 8460 Appendix B as printed (line break inside a string)", TlsRptFixtures.Bytes(TlsRptFixtures.AppendixBPrinted), TlsRptMediaTypes.Json, 400, "tls-rpt report: report: not valid JSON" },
            { "foreign domain", TlsRptReports.Json(TlsRptReports.Sts("Err Org", "err-2", "not-ours.example", new DateOnly(2026, 8, 1), 1)), TlsRptMediaTypes.Json, 403, "policy-domain 'not-ours.example' is not one of ours" },
            { "ours and a foreign domain", TlsRptReports.Json(TlsRptReports.Sts("Err Org", "err-3", "mta.example", new DateOnly(2026, 8, 1), 1) with { Policies = [TlsRptReports.Policy("sts", "mta.example", 1), TlsRptReports.Policy("tlsa", "mx.evil.example", 1)] }), TlsRptMediaTypes.Json, 403, "'mx.evil.example' is not one of ours" },
            { "a suffix that only looks like ours", TlsRptReports.Json(TlsRptReports.Sts("Err Org", "err-4", "evilmta.example", new DateOnly(2026, 8, 1), 1)), TlsRptMediaTypes.Json, 403, "'evilmta.example'" },
        };
    }

    [Theory]
    [MemberData(nameof(ErrorRows))]
    public async Task PostReport_ErrorRow_StatusAndMessageNameTheProblem(string reason, byte[] body, string? mediaType, int status, string message)
    {
        var result = await TlsRptHostFixture.PostAsync(Http, ReportPath, body, mediaType);

        Assert.True(status == result.Status, $"{reason}: expected {status}, got {result.Status} {result.Body}");
        using var json = JsonDocument.Parse(result.Body);
        Assert.Contains(message, json.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostReport_GzipBomb_RefusedWith413()
    {
        var bomb = TlsRptHostFixture.Gzip(new byte[64 * 1024 * 1024]);
        Assert.True(bomb.Length < TlsRptHostFixture.MaxBodySize, "the bomb itself must pass the body limit");

        var result = await TlsRptHostFixture.PostAsync(Http, ReportPath, bomb, TlsRptMediaTypes.Gzip);

        Assert.Equal(413, result.Status);
        Assert.Contains($"decompressed report is larger than {TlsRptHostFixture.MaxReportSize} bytes", result.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostReport_ChunkedBodyOverTheLimit_RefusedWith413()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, ReportPath) { Content = new StreamContent(new NonSeekableStream(new byte[TlsRptHostFixture.MaxBodySize * 2])) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(TlsRptMediaTypes.Json);
        request.Headers.TransferEncodingChunked = true;

        using var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(413, (int)response.StatusCode);
        Assert.Contains("request body is larger than", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostReport_KeyRequired_OnlyTheRightKeyIsAccepted()
    {
        const string key = "k3y-for-tls-reports-0123";
        var host = await fixture.StartHostAsync((SettingKeys.TlsRptInboundKey, key));
        using var http = new HttpClient { BaseAddress = LocalHttpHost.BaseAddress(host) };
        var json = TlsRptReports.Json(TlsRptReports.Sts("Key Org", "key-1", "mta.example", new DateOnly(2026, 7, 1), 1));

        var none = await TlsRptHostFixture.PostAsync(http, ReportPath, json, TlsRptMediaTypes.Json);
        var wrong = await TlsRptHostFixture.PostAsync(http, ReportPath + "?key=k3y-for-tls-reports-0124", json, TlsRptMediaTypes.Json);
        var right = await TlsRptHostFixture.PostAsync(http, ReportPath + "?key=" + key, json, TlsRptMediaTypes.Json);

        Assert.Equal((401, "{\"error\":\"this endpoint needs ?key= in its URL\"}"), none);
        Assert.Equal((401, "{\"error\":\"the key in the URL is wrong\"}"), wrong);
        Assert.Equal(202, right.Status);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PostMail_MultipartReport_Stored(bool gzip)
    {
        var reportId = $"mail-{gzip}";
        var json = TlsRptReports.Json(TlsRptReports.Sts("Google Inc.", reportId, "mail.example", new DateOnly(2026, 6, 1), 7, ("certificate-host-mismatch", "mx.mail.example", 3)));
        var message = Mail("mail.example", reportId, gzip ? TlsRptHostFixture.Gzip(json) : json, gzip ? "tlsrpt+gzip" : "tlsrpt+json", gzip ? ".json.gz" : ".json");

        var result = await TlsRptHostFixture.PostAsync(Http, MailPath, message, "message/rfc822");

        Assert.True(result.Status == 202, result.Body);
        using var summary = await SummaryAsync("mail.example", "2026-06-01", "2026-06-01");
        var org = summary.RootElement.GetProperty("dayOrganizations").EnumerateArray().Single();
        Assert.Equal("Google Inc.", org.GetProperty("organization").GetString());
        Assert.True(Figures(org).Failed >= 3);
    }

    [Fact]
    public async Task PostMail_PostfixReportWithoutPolicyDomain_CountsForTheReportDomainHeader()
    {
        var report = new TlsRptReport(
            "Postfix Org",
            TlsRptDateRange.UtcDay(new DateOnly(2026, 6, 2)),
            "tlsrpt@postfix.example",
            "postfix-1",
            [new TlsRptPolicyResult(new TlsRptReportedPolicy("no-policy-found", null, [], []), new TlsRptSummary(4, 0), [])]);
        var message = Mail("mail.example", "postfix-1", TlsRptHostFixture.Gzip(TlsRptReports.Json(report)), "tlsrpt+gzip", ".json.gz");

        var result = await TlsRptHostFixture.PostAsync(Http, MailPath, message, "message/rfc822");

        Assert.True(result.Status == 202, result.Body);
        using var summary = await SummaryAsync("mail.example", "2026-06-02", "2026-06-02");
        Assert.Equal((4L, 0L), Figures(summary.RootElement.GetProperty("totals")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PostMail_MessageOverTheLimit_RefusedWith413(bool chunked)
    {
        var json = TlsRptReports.Json(TlsRptReports.Sts("Google Inc.", "mail-big", "mail.example", new DateOnly(2026, 6, 3), 1));
        var padding = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("X-Padding: " + new string('p', 900) + "\r\n", 400)));
        var message = padding.Concat(Mail("mail.example", "mail-big", json, "tlsrpt+json", ".json")).ToArray();
        using var request = new HttpRequestMessage(HttpMethod.Post, MailPath)
        {
            Content = chunked ? new StreamContent(new NonSeekableStream(message)) : new ByteArrayContent(message),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("message/rfc822");
        request.Headers.TransferEncodingChunked = chunked;

        using var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(413, (int)response.StatusCode);
        Assert.Contains($"message{(chunked ? "" : $" of {message.Length} bytes")} is larger than {TlsRptHostFixture.MaxMessageSize} bytes", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostMail_NotAReport_RefusedWith400()
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("someone@sender.example"));
        message.To.Add(MailboxAddress.Parse("tlsrpt@mail.example"));
        message.Subject = "hello";
        message.Body = new TextPart("plain") { Text = "not a report" };
        using var buffer = new MemoryStream();
        message.WriteTo(buffer, TestContext.Current.CancellationToken);

        var result = await TlsRptHostFixture.PostAsync(Http, MailPath, buffer.ToArray(), "message/rfc822");

        Assert.Equal(400, result.Status);
        Assert.Contains("is text/plain, not multipart/report; report-type=tlsrpt", result.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostMail_ForeignReport_RefusedWith403()
    {
        var json = TlsRptReports.Json(TlsRptReports.Sts("Google Inc.", "mail-foreign", "elsewhere.example", new DateOnly(2026, 6, 1), 1));

        var result = await TlsRptHostFixture.PostAsync(Http, MailPath, Mail("elsewhere.example", "mail-foreign", json, "tlsrpt+json", ".json"), "message/rfc822");

        Assert.Equal(403, result.Status);
    }

    [Fact]
    public async Task GetSummary_SetOfReports_FiguresExact()
    {
        var day1 = new DateOnly(2026, 5, 1);
        var day2 = day1.AddDays(1);
        var reports = new[]
        {
            TlsRptReports.Sts("Google Inc.", "s1", "summary.example", day1, 100, ("certificate-expired", "mx1.summary.example", 6), ("starttls-not-supported", "mx2.summary.example", 4)),
            TlsRptReports.Sts("Microsoft Corporation", "s2", "summary.example", day1, 50),
            TlsRptReports.Sts("Google Inc.", "s3", "summary.example", day2, 90, ("certificate-expired", "mx1.summary.example", 10)),
            TlsRptReports.Sts("Microsoft Corporation", "s4", "summary.example", day2, 0) with
            {
                Policies =
                [
                    TlsRptReports.Policy("sts", "summary.example", 20, ("sts-policy-fetch-error", null, 5)),
                    TlsRptReports.Policy("tlsa", "mx1.summary.example", 10),
                ],
            },
            TlsRptReports.Sts("Google Inc.", "s5", "summary.example", day1.AddDays(4), 1000),
            TlsRptReports.Sts("Google Inc.", "s1", "summary.example", day1, 100, ("certificate-expired", "mx1.summary.example", 6), ("starttls-not-supported", "mx2.summary.example", 4)),
        };
        foreach (var report in reports)
        {
            Assert.True((await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptReports.Json(report), TlsRptMediaTypes.Json)).Status is 200 or 202);
        }

        using var summary = await SummaryAsync("summary.example", "2026-05-01", "2026-05-03");

        var root = summary.RootElement;
        Assert.Equal("summary.example", root.GetProperty("domain").GetString());
        Assert.Equal("2026-05-01", root.GetProperty("from").GetString());
        Assert.Equal("2026-05-03", root.GetProperty("to").GetString());
        Assert.Equal(4, root.GetProperty("totals").GetProperty("reports").GetInt32());
        Assert.Equal((260L, 25L), Figures(root.GetProperty("totals")));
        Assert.Equal(91.23, root.GetProperty("totals").GetProperty("successRate").GetDouble());
        var days = root.GetProperty("days").EnumerateArray().ToList();
        Assert.Equal(["2026-05-01", "2026-05-02"], days.Select(d => d.GetProperty("date").GetString()));
        Assert.Equal([(150L, 10L), (110L, 15L)], days.Select(Figures));
        Assert.Equal(93.75, days[0].GetProperty("figures").GetProperty("successRate").GetDouble());
        Assert.Equal(88, days[1].GetProperty("figures").GetProperty("successRate").GetDouble());
        Assert.Equal(
            [("Google Inc.", 190L, 20L), ("Microsoft Corporation", 70L, 5L)],
            root.GetProperty("organizations").EnumerateArray().Select(o => (o.GetProperty("organization").GetString()!, Figures(o).Successful, Figures(o).Failed)));
        Assert.Equal([("certificate-expired", 16L), ("sts-policy-fetch-error", 5L), ("starttls-not-supported", 4L)], Named(root.GetProperty("failuresByResultType")));
        Assert.Equal([("mx1.summary.example", 16L), ("(not reported)", 5L), ("mx2.summary.example", 4L)], Named(root.GetProperty("failuresByMxHost")));
        var dayOrgs = root.GetProperty("dayOrganizations").EnumerateArray().ToList();
        Assert.Equal(4, dayOrgs.Count);
        Assert.Equal([("certificate-expired", 6L), ("starttls-not-supported", 4L)], Named(dayOrgs[0].GetProperty("failuresByResultType")));
        Assert.Equal([("mx1.summary.example", 6L), ("mx2.summary.example", 4L)], Named(dayOrgs[0].GetProperty("failuresByMxHost")));

        // The TLSA policy's domain is the MX host (RFC 8460 §1.1): it has its own figures.
        using var mx = await SummaryAsync("mx1.summary.example", "2026-05-01", "2026-05-03");
        Assert.Equal((10L, 0L), Figures(mx.RootElement.GetProperty("totals")));
    }

    [Theory]
    [InlineData("?domain=not-ours.example", "domain: 'not-ours.example' is not one of ours")]
    [InlineData("?from=2026-13-01", "from: '2026-13-01' is not a date yyyy-MM-dd")]
    [InlineData("?to=yesterday", "to: 'yesterday' is not a date yyyy-MM-dd")]
    [InlineData("?from=2026-05-02&to=2026-05-01", "must be in order")]
    [InlineData("?from=2024-01-01&to=2026-01-01", "at most 366 days")]
    public async Task GetSummary_BadParameter_400NamingIt(string query, string message)
    {
        using var response = await Http.GetAsync("/api/tlsrpt/summary" + query, TestContext.Current.CancellationToken);

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains(message, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostReport_DayFailureRateCrossesThreshold_WarnsOnce()
    {
        long warnings = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == FailureRateMonitor.MeterName && instrument.Name == FailureRateMonitor.WarningCounterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "domain" && (string?)tag.Value == "alarm.example")
                {
                    Interlocked.Add(ref warnings, value);
                }
            }
        });
        listener.Start();
        var day = new DateOnly(2026, 4, 1);

        await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptReports.Json(TlsRptReports.Sts("A", "a1", "alarm.example", day, 95, ("certificate-expired", "mx.alarm.example", 5))), TlsRptMediaTypes.Json);
        var afterFivePercent = Interlocked.Read(ref warnings);
        await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptReports.Json(TlsRptReports.Sts("B", "b1", "alarm.example", day, 0, ("certificate-expired", "mx.alarm.example", 20))), TlsRptMediaTypes.Json);
        var afterCrossing = Interlocked.Read(ref warnings);
        await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptReports.Json(TlsRptReports.Sts("C", "c1", "alarm.example", day, 10, ("certificate-expired", "mx.alarm.example", 2))), TlsRptMediaTypes.Json);

        Assert.Equal(0, afterFivePercent);
        Assert.Equal(1, afterCrossing);
        Assert.Equal(1, Interlocked.Read(ref warnings));
    }

    [Fact]
    public async Task GetDashboard_Page_IsSelfContainedHtml()
    {
        using var response = await Http.GetAsync("/api/tlsrpt/dashboard", TestContext.Current.CancellationToken);
        var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("id=\"success-rate-chart\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("src=\"http", html, StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"http", html, StringComparison.Ordinal);
    }

    private async Task<JsonDocument> SummaryAsync(string domain, string from, string to)
    {
        using var response = await Http.GetAsync($"/api/tlsrpt/summary?domain={domain}&from={from}&to={to}");
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body);
    }

    private static (long Successful, long Failed) Figures(JsonElement element)
    {
        var figures = element.TryGetProperty("figures", out var inner) ? inner : element;
        return (figures.GetProperty("successful").GetInt64(), figures.GetProperty("failed").GetInt64());
    }

    private static List<(string, long)> Named(JsonElement array) =>
        array.EnumerateArray().Select(e => (e.GetProperty("name").GetString()!, e.GetProperty("count").GetInt64())).ToList();

    internal static byte[] Mail(string reportDomain, string reportId, byte[] attachment, string subtype, string extension)
    {
        var report = new MultipartReport(TlsRptMediaTypes.ReportType);
        report.Add(new TextPart("plain") { Text = "This is an aggregate TLS report from sender.example" });
        report.Add(new MimePart("application", subtype)
        {
            Content = new MimeContent(new MemoryStream(attachment)),
            ContentTransferEncoding = ContentEncoding.Base64,
            FileName = TlsRptFileName.Create("sender.example", reportDomain, TlsRptDateRange.UtcDay(new DateOnly(2026, 6, 1)), null, extension == ".json.gz")
                .Replace(".json.gz", extension, StringComparison.Ordinal),
        });
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("noreply-smtp-tls-reporting@sender.example"));
        message.To.Add(MailboxAddress.Parse("tlsrpt@" + reportDomain));
        message.Subject = $"Report Domain: {reportDomain} Submitter: sender.example Report-ID: <{reportId}>";
        message.Headers.Add("TLS-Report-Domain", reportDomain);
        message.Headers.Add("TLS-Report-Submitter", "sender.example");
        message.Body = report;
        using var buffer = new MemoryStream();
        message.WriteTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>A stream whose length is unknown, so that HttpClient sends it chunked.</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
