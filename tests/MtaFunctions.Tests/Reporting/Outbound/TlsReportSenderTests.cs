using System.IO.Compression;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using MimeKit;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Reporting.Outbound;

public sealed class TlsReportSenderTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    /// <summary>Friday 27 November 2026, 10:00 UTC: sessions happen then; the daily report covers the 27th.</summary>
    private static readonly DateTimeOffset Friday = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);

    /// <summary>After the 27th closed, the grace passed and the largest random delay elapsed.</summary>
    private static readonly DateTimeOffset AllDue = new(2026, 11, 28, 4, 11, 0, TimeSpan.Zero);

    private static TlsSessionResult Session(string domain, TlsRptResultType? failure = null) =>
        new(new TlsRptPolicy(TlsRptPolicyType.Sts, domain, ["version: STSv1", "mode: enforce", $"mx: mx.{domain}", "max_age: 86400"], [$"mx.{domain}"]),
            $"mx.{domain}", "192.0.2.1", "198.51.100.7", failure, failure is null ? null : "NotTimeValid");

    private async Task<(MtaTestHost Host, FakeTimeProvider Time)> StartAsync(params (string Key, string Value)[] extra)
    {
        await ReportingTables.ResetAsync(storage);
        var time = new FakeTimeProvider(Friday);
        var settings = TestDkimKeys.Settings().Append(("Report:Tls:Aggregate:Send", "daily")).Concat(extra).ToArray();
        var host = await MtaTestHost.StartAsync(storage, s => s.AddSingleton<TimeProvider>(time), settings);
        return (host, time);
    }

    private static void Record(MtaTestHost host, string domain, int successes, int failures)
    {
        var counter = host.Services.GetRequiredService<TlsSessionCounter>();
        for (var i = 0; i < successes; i++)
        {
            counter.Record(Session(domain));
        }

        for (var i = 0; i < failures; i++)
        {
            counter.Record(Session(domain, TlsRptResultType.CertificateExpired));
        }
    }

    private static Task<TlsReportRunResult> RunAsync(MtaTestHost host) =>
        host.Services.GetRequiredService<TlsReportSender>().RunAsync(CancellationToken.None);

    private static async Task<TestReportEndpoint> HttpsRuaAsync(MtaTestHost host, string domain)
    {
        var endpoint = await TestReportEndpoint.StartAsync(host.Ca.IssueServer(["rua.reports.test"]));
        host.Dns.A("rua.reports.test", "127.0.0.1");
        host.Dns.Txt($"_smtp._tls.{domain}", $"v=TLSRPTv1; rua=https://rua.reports.test:{endpoint.Port}/v1/tlsrpt");
        return endpoint;
    }

    [Fact]
    public async Task RunAsync_MailtoRua_SendsSignedMultipartReportThroughOurQueue()
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        Record(host, "example.com", successes: 40, failures: 2);
        host.Dns.Txt("_smtp._tls.example.com", "v=TLSRPTv1; rua=mailto:tlsrpt@reports.test");
        time.SetUtcNow(AllDue);

        var result = await RunAsync(host);
        Assert.Equal((1, 0, 0), (result.Sent, result.Failed, result.NotReported));

        // Deliver it with our own delivery, to a TLS-capable MX of the reporting address.
        host.AddDomain("reports.test", "mx.reports.test", "127.0.0.2");
        host.AddSmtpServer("127.0.0.2", host.Ca.IssueServer(["mx.reports.test"]));
        await host.PumpAsync(TimeSpan.FromSeconds(20), () => !host.Inbox.IsEmpty);
        var mail = Assert.Single(host.Inbox);
        Assert.Equal(["tlsrpt@reports.test"], mail.To);
        Assert.Equal("noreply-tls@mta.sender.test", mail.From);
        var message = MtaTestHost.Parse(mail.Data);

        // RFC 8460 §5.3: multipart/report; report-type=tlsrpt, the headers, the Subject.
        var report = Assert.IsType<MultipartReport>(message.Body);
        Assert.Equal("tlsrpt", report.ReportType);
        Assert.Equal("example.com", message.Headers["TLS-Report-Domain"]);
        Assert.Equal("mta.sender.test", message.Headers["TLS-Report-Submitter"]);
        Assert.Null(message.Headers["TLS-Required"]);
        Assert.Equal("noreply-tls@mta.sender.test", ((MailboxAddress)message.From.Single()).Address);
        Assert.Matches(@"^Report Domain: example\.com Submitter: mta\.sender\.test Report-ID: <d20261127\.[0-9a-f]{32}@mta\.sender\.test>$", message.Subject);
        var attachment = Assert.Single(report.OfType<MimePart>(), p => p.ContentType.MimeType == "application/tlsrpt+gzip");
        Assert.Matches(@"^mta\.sender\.test!example\.com!1795737600!1795824000![0-9a-f]{32}\.json\.gz$", attachment.FileName);

        using var content = new MemoryStream();
        await attachment.Content!.DecodeToAsync(content);
        using var gunzip = new GZipStream(new MemoryStream(content.ToArray()), CompressionMode.Decompress);
        using var json = new MemoryStream();
        await gunzip.CopyToAsync(json);
        var parsed = TlsRptReportSerializer.Parse(json.ToArray());
        Assert.Equal(40, parsed.TotalSuccessfulSessions);
        Assert.Equal(2, parsed.TotalFailureSessions);
        Assert.Equal("d20261127", TlsReportPeriod.Containing(Core.Configuration.TlsReportFrequency.Daily, parsed.DateRange.Start).Key);
        Assert.Equal(message.Subject!.Split('<')[1].TrimEnd('>'), parsed.ReportId);

        // RFC 8460 §3: DKIM-signed with each signature, TLS-Report-* signed, no l=.
        var signatures = message.Headers.Where(h => h.Id == HeaderId.DkimSignature).ToList();
        Assert.Equal(2, signatures.Count);
        Assert.Contains(signatures, s => s.Value.Contains("a=rsa-sha256", StringComparison.Ordinal));
        Assert.Contains(signatures, s => s.Value.Contains("a=ed25519-sha256", StringComparison.Ordinal));
        var verifier = TestDkimKeys.Verifier();
        foreach (var signature in signatures)
        {
            var tags = signature.Value.Replace(" ", "", StringComparison.Ordinal).Replace("\r\n", "", StringComparison.Ordinal).Replace("\t", "", StringComparison.Ordinal);
            Assert.DoesNotContain(";l=", tags, StringComparison.Ordinal);
            Assert.Contains("tls-report-domain", tags, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("tls-report-submitter", tags, StringComparison.OrdinalIgnoreCase);
            Assert.True(await verifier.VerifyAsync(message, signature), signature.Value);
        }

        // A tampered header breaks the signatures (the verifier really checks).
        message.Headers["TLS-Report-Domain"] = "other.example";
        Assert.False(await verifier.VerifyAsync(message, signatures[0]));

        // RFC 8460 §3 / report loops: the report mail's own TLS session is not counted.
        Assert.Empty(host.Services.GetRequiredService<TlsSessionCounter>().Peek());
    }

    [Fact]
    public async Task RunAsync_HttpsRua_PostsGzipWithTlsRptMediaType()
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        await using var endpoint = await HttpsRuaAsync(host, "example.com");
        Record(host, "example.com", successes: 5, failures: 1);
        time.SetUtcNow(AllDue);

        Assert.Equal(1, (await RunAsync(host)).Sent);
        var (contentType, body) = Assert.Single(endpoint.Received);
        Assert.Equal("application/tlsrpt+gzip", contentType);
        using var gunzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
        using var json = new MemoryStream();
        await gunzip.CopyToAsync(json);
        var report = TlsRptReportSerializer.Parse(json.ToArray());
        Assert.Equal(5, report.TotalSuccessfulSessions);
        Assert.Equal(1, report.TotalFailureSessions);
        Assert.Equal("198.51.100.7", report.Policies.Single().FailureDetails.Single().SendingMtaIp);
        Assert.Equal("mta.sender.test", report.OrganizationName);
        Assert.Equal("noreply-tls@mta.sender.test", report.ContactInfo);
    }

    [Fact]
    public async Task RunAsync_AfterRealDeliveries_ReportsTheirSessions()
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        await using var endpoint = await HttpsRuaAsync(host, "example.com");
        host.AddDomain("example.com", "mx.example.com", "127.0.0.3");
        host.AddSmtpServer("127.0.0.3", host.Ca.IssueServer(["mx.example.com"]));
        for (var i = 0; i < 3; i++)
        {
            await host.SendAsync("sender@sender.test", [$"user{i}@example.com"], MtaTestHost.Message("sender@sender.test", $"user{i}@example.com"));
        }

        await host.PumpAsync(TimeSpan.FromSeconds(20), () => host.Inbox.Count >= 3);
        Assert.Equal(3, host.Inbox.Count);
        time.SetUtcNow(AllDue);

        Assert.Equal(1, (await RunAsync(host)).Sent);
        var report = TlsRptReportSerializer.Parse(Gunzip(Assert.Single(endpoint.Received).Body));
        var policy = Assert.Single(report.Policies);
        Assert.Equal("example.com", policy.Policy.PolicyDomain);

        // One session per message, or fewer when the pooled connection was reused (reuse is not re-counted).
        Assert.InRange(policy.Summary.TotalSuccessfulSessionCount, 1, 3);
        Assert.Equal(0, policy.Summary.TotalFailureSessionCount);
    }

    [Fact]
    public async Task RunAsync_DaneSessions_ReportedToTheMxHostsRecord()
    {
        var (host, time) = await StartAsync();
        await using var _ = host;

        // RFC 8460 §1.1: for DANE the policy domain is the TLSA base domain, the MX host.
        await using var endpoint = await HttpsRuaAsync(host, "mx.example.com");
        var counter = host.Services.GetRequiredService<TlsSessionCounter>();
        var tlsa = new TlsRptPolicy(TlsRptPolicyType.Tlsa, "mx.example.com", ["3 1 1 ABCD"], []);
        counter.Record(new TlsSessionResult(tlsa, "mx.example.com", "192.0.2.1", "198.51.100.7", null));
        counter.Record(new TlsSessionResult(tlsa, "mx.example.com", "192.0.2.1", "198.51.100.7", TlsRptResultType.TlsaInvalid, "no TLSA record matched"));
        time.SetUtcNow(AllDue);

        Assert.Equal(1, (await RunAsync(host)).Sent);
        var report = TlsRptReportSerializer.Parse(Gunzip(Assert.Single(endpoint.Received).Body));
        var policy = Assert.Single(report.Policies);
        Assert.Equal(("tlsa", "mx.example.com"), (policy.Policy.PolicyType, policy.Policy.PolicyDomain));
        Assert.Equal(["3 1 1 ABCD"], policy.Policy.PolicyStrings);
        Assert.Equal("tlsa-invalid", Assert.Single(policy.FailureDetails).ResultType);
    }

    [Fact]
    public async Task RunAsync_BeforeTheRandomDelay_SendsNothingYet()
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        await using var endpoint = await HttpsRuaAsync(host, "example.com");
        Record(host, "example.com", successes: 1, failures: 0);

        time.SetUtcNow(new DateTimeOffset(2026, 11, 27, 23, 59, 0, TimeSpan.Zero));
        Assert.Equal(0, (await RunAsync(host)).Sent);
        time.SetUtcNow(new DateTimeOffset(2026, 11, 28, 0, 10, 0, TimeSpan.Zero));
        var planned = await RunAsync(host);
        Assert.InRange(planned.PeriodsPlanned, 1, 2);
        Assert.Equal(0, planned.Sent);
        Assert.Empty(endpoint.Received);
        time.SetUtcNow(AllDue);
        Assert.Equal(1, (await RunAsync(host)).Sent);
    }

    [Fact]
    public async Task RunAsync_DailyBoundary_SessionsGoToTheirUtcDay()
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        await using var endpoint = await HttpsRuaAsync(host, "example.com");
        time.SetUtcNow(new DateTimeOffset(2026, 11, 27, 23, 59, 59, TimeSpan.Zero));
        Record(host, "example.com", successes: 1, failures: 0);
        time.Advance(TimeSpan.FromSeconds(1));
        Record(host, "example.com", successes: 2, failures: 0);

        time.SetUtcNow(AllDue);
        Assert.Equal(1, (await RunAsync(host)).Sent);
        time.SetUtcNow(AllDue.AddDays(1));
        Assert.Equal(1, (await RunAsync(host)).Sent);

        var reports = endpoint.Received.Select(r => TlsRptReportSerializer.Parse(Gunzip(r.Body))).ToList();
        Assert.Equal(2, reports.Count);
        Assert.Equal(new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero), reports[0].DateRange.Start);
        Assert.Equal(1, reports[0].TotalSuccessfulSessions);
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 0, 0, 0, TimeSpan.Zero), reports[1].DateRange.Start);
        Assert.Equal(2, reports[1].TotalSuccessfulSessions);
        Assert.NotEqual(reports[0].ReportId, reports[1].ReportId);
    }

    [Fact]
    public async Task RunAsync_Hourly_ReportsEachUtcHour()
    {
        var (host, time) = await StartAsync(("Report:Tls:Aggregate:Send", "hourly"));
        await using var _ = host;
        await using var endpoint = await HttpsRuaAsync(host, "example.com");
        time.SetUtcNow(new DateTimeOffset(2026, 11, 27, 10, 59, 59, TimeSpan.Zero));
        Record(host, "example.com", successes: 3, failures: 0);
        time.Advance(TimeSpan.FromSeconds(1));
        Record(host, "example.com", successes: 4, failures: 0);

        // The 11:00-12:00 report is due by 12:00 + 10 min grace + at most one period of random delay.
        time.SetUtcNow(new DateTimeOffset(2026, 11, 27, 13, 15, 0, TimeSpan.Zero));
        Assert.Equal(2, (await RunAsync(host)).Sent);
        var reports = endpoint.Received.Select(r => TlsRptReportSerializer.Parse(Gunzip(r.Body))).OrderBy(r => r.DateRange.Start).ToList();
        Assert.Equal([3L, 4L], reports.Select(r => r.TotalSuccessfulSessions));
        Assert.All(reports, r => Assert.Equal(TimeSpan.FromHours(1), r.DateRange.End - r.DateRange.Start));
    }

    [Fact]
    public async Task RunAsync_Weekly_ReportsMondayToMonday()
    {
        var (host, time) = await StartAsync(("Report:Tls:Aggregate:Send", "weekly"));
        await using var _ = host;
        await using var endpoint = await HttpsRuaAsync(host, "example.com");
        time.SetUtcNow(new DateTimeOffset(2026, 11, 29, 23, 59, 59, TimeSpan.Zero)); // Sunday
        Record(host, "example.com", successes: 3, failures: 0);
        time.Advance(TimeSpan.FromSeconds(1)); // Monday 30th
        Record(host, "example.com", successes: 4, failures: 0);

        time.SetUtcNow(new DateTimeOffset(2026, 11, 30, 4, 11, 0, TimeSpan.Zero));
        Assert.Equal(1, (await RunAsync(host)).Sent);
        var report = TlsRptReportSerializer.Parse(Gunzip(Assert.Single(endpoint.Received).Body));
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero), report.DateRange.Start);
        Assert.Equal(new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero), report.DateRange.End);
        Assert.Equal(3, report.TotalSuccessfulSessions);
    }

    [Theory]
    [InlineData(null, "NoRecord")]
    [InlineData("v=TLSRPTv1; rua=reports@reports.test", "RecordSyntax")]
    [InlineData("v=TLSRPTv1; rua=mailto:", "RecordSyntax")]
    [InlineData("v=TLSRPTv1", "RecordSyntax")]
    [InlineData("v=TLSRPTv1; rua=mailto:a@reports.test|v=TLSRPTv1; rua=mailto:b@reports.test", "MultipleRecords")]
    public async Task RunAsync_NoUsableRecord_SendsNothing(string? records, string status)
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        foreach (var record in records?.Split('|') ?? [])
        {
            host.Dns.Txt("_smtp._tls.example.com", record);
        }

        Record(host, "example.com", successes: 3, failures: 0);
        time.SetUtcNow(AllDue);
        var result = await RunAsync(host);
        Assert.Equal((0, 0, 1), (result.Sent, result.Failed, result.NotReported));
        Assert.Equal(0, (await host.OutboundQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        var plans = await host.Services.GetRequiredService<Core.Storage.SentTlsReportsStore>().PlansAsync("d20261127", CancellationToken.None);
        var plan = Assert.Single(plans);
        Assert.Equal("done", plan.State);
        Assert.Contains(status, plan.Outcome, StringComparison.Ordinal);
        Assert.Equal(new TlsReportRunResult(0, 0, 0, 0), await RunAsync(host));
    }

    [Fact]
    public async Task RunAsync_ReportOverMaxSize_NotSentAndRecorded()
    {
        var (host, time) = await StartAsync(("Report:Tls:Aggregate:MaxSize", "1024"));
        await using var _ = host;
        host.Dns.Txt("_smtp._tls.example.com", "v=TLSRPTv1; rua=mailto:tlsrpt@reports.test");
        Record(host, "example.com", successes: 3, failures: 1);
        time.SetUtcNow(AllDue);

        Assert.Equal(0, (await RunAsync(host)).Sent);
        Assert.Equal(0, (await host.OutboundQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        var row = Assert.Single(await ReportingTables.DeliveriesAsync(storage));
        Assert.Equal("too-large", row.State);
        Assert.True(row.Size > 1024);
        Assert.Contains("MaxSize 1024", row.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_TwiceAndOnTwoInstancesAtOnce_SendsOnce()
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        host.Dns.Txt("_smtp._tls.example.com", "v=TLSRPTv1; rua=mailto:tlsrpt@reports.test");
        Record(host, "example.com", successes: 3, failures: 0);
        await using var second = host.NewInstance(s => s.AddSingleton<TimeProvider>(time));
        time.SetUtcNow(AllDue);

        // Flush the first instance's counts, then both instances run the same tick at once, then again.
        await host.Services.GetRequiredService<TlsResultsFlusher>().FlushAsync(CancellationToken.None);
        var runs = await Task.WhenAll(
            RunAsync(host),
            second.GetRequiredService<TlsReportSender>().RunAsync(CancellationToken.None),
            RunAsync(host));
        Assert.Equal(1, runs.Sum(r => r.Sent));
        Assert.Equal(0, (await RunAsync(host)).Sent);
        Assert.Equal(0, (await second.GetRequiredService<TlsReportSender>().RunAsync(CancellationToken.None)).Sent);
        Assert.Equal(1, (await host.OutboundQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        var message = ReportingTables.ParseQueued((await host.OutboundQueue.PeekMessageAsync()).Value.Body.ToString());
        Assert.Equal("example.com", message.Headers["TLS-Report-Domain"]);
        Assert.Equal("No", message.Headers["TLS-Required"]);
    }

    [Fact]
    public async Task RunAsync_ClaimOfACrashedInstance_TakenOverAfterTheLease()
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        await using var endpoint = await HttpsRuaAsync(host, "example.com");
        Record(host, "example.com", successes: 3, failures: 0);
        time.SetUtcNow(AllDue);

        // An instance planned the period and claimed the rua, then died before sending.
        await RunAsync(host);
        var row = Assert.Single(await ReportingTables.DeliveriesAsync(storage));
        row.State = "sending";
        row.LeaseUntil = AllDue + TlsReportDefaults.ClaimLease;
        await storage.Tables.GetTableClient("SentTlsReports").UpdateEntityAsync(row, Azure.ETag.All, Azure.Data.Tables.TableUpdateMode.Replace);
        var plans = host.Services.GetRequiredService<Core.Storage.SentTlsReportsStore>();
        var plan = Assert.Single(await plans.PlansAsync("d20261127", CancellationToken.None));
        plan.State = "pending";
        await plans.TryUpdateAsync(plan, CancellationToken.None);
        var marker = (await plans.MarkersAsync(CancellationToken.None)).Single(m => m.RowKey == "d20261127");
        marker.Complete = false;
        await plans.UpsertMarkerAsync(marker, CancellationToken.None);
        endpoint.Received.Clear();

        Assert.Equal(0, (await RunAsync(host)).Sent);
        time.Advance(TlsReportDefaults.ClaimLease + TimeSpan.FromSeconds(1));
        Assert.Equal(1, (await RunAsync(host)).Sent);
        Assert.Single(endpoint.Received);
        Assert.Equal(2, Assert.Single(await ReportingTables.DeliveriesAsync(storage)).Attempts);
    }

    [Fact]
    public async Task RunAsync_RuaFails_RetriedWithBackOffThenSent()
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        await using var endpoint = await HttpsRuaAsync(host, "example.com");
        endpoint.Statuses.Enqueue(503);
        endpoint.Statuses.Enqueue(200);
        Record(host, "example.com", successes: 3, failures: 0);
        time.SetUtcNow(AllDue);

        Assert.Equal(1, (await RunAsync(host)).Failed);
        var row = Assert.Single(await ReportingTables.DeliveriesAsync(storage));
        Assert.Equal("retry", row.State);
        Assert.Equal("HTTP 503 Service Unavailable", row.LastError);
        Assert.Equal(AllDue + TlsReportDefaults.FirstRetryDelay, row.NextAttempt);

        Assert.Equal(new TlsReportRunResult(0, 0, 0, 0), await RunAsync(host));
        time.Advance(TlsReportDefaults.FirstRetryDelay);
        Assert.Equal(1, (await RunAsync(host)).Sent);
        Assert.Equal(2, endpoint.Received.Count);
        Assert.Equal("sent", Assert.Single(await ReportingTables.DeliveriesAsync(storage)).State);
    }

    [Fact]
    public async Task RunAsync_RuaKeepsFailing_GivesUpAfter24HoursAndSuppressesAfterThreePeriods()
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        await using var endpoint = await HttpsRuaAsync(host, "example.com");
        endpoint.Statuses.Enqueue(500);
        var sent = host.Services.GetRequiredService<Core.Storage.SentTlsReportsStore>();
        var rua = $"https://rua.reports.test:{endpoint.Port}/v1/tlsrpt";

        // Sessions at 10:00 on five days (27 Nov to 1 Dec), the timer ticking hourly; the rua never accepts.
        while (time.GetUtcNow() < AllDue.AddDays(4).AddHours(4))
        {
            if (time.GetUtcNow().Hour == 10 && time.GetUtcNow() < Friday.AddDays(5))
            {
                Record(host, "example.com", successes: 1, failures: 0);
            }

            await RunAsync(host);
            time.Advance(TimeSpan.FromHours(1));
        }

        var rows = (await ReportingTables.DeliveriesAsync(storage)).OrderBy(d => d.PartitionKey, StringComparer.Ordinal).ToList();
        Assert.Equal(5, rows.Count);

        // RFC 8460 §5.5: each of the first reports was retried with back-off for 24 hours, then given up.
        Assert.All(rows.Take(3), d =>
        {
            Assert.Equal("gave-up", d.State);
            Assert.InRange(d.Attempts, 5, 12);
        });

        // After three periods in a row without success the rua is suppressed: the last report is not tried.
        var health = await sent.HealthAsync(rua, CancellationToken.None);
        Assert.True(health.FailedPeriods >= 3);
        Assert.NotNull(health.SuppressedUntil);
        Assert.Equal("suppressed", rows[^1].State);
        Assert.Equal(rows.Sum(d => d.State == "suppressed" ? 0 : d.Attempts), endpoint.Received.Count);
    }

    [Fact]
    public async Task RunAsync_RecordLookupKeepsFailing_GivesUp24HoursAfterTheFirstAttemptAndFinishesThePeriod()
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        host.Dns.Fail("_smtp._tls.example.com", ARSoft.Tools.Net.Dns.RecordType.Txt);
        Record(host, "example.com", successes: 3, failures: 1);
        var period = TlsReportPeriod.Containing(Core.Configuration.TlsReportFrequency.Daily, Friday);
        var sent = host.Services.GetRequiredService<Core.Storage.SentTlsReportsStore>();
        time.SetUtcNow(AllDue);

        // The timer ticks every five minutes for two days; SERVFAIL every time.
        Core.Storage.TlsReportPlan? plan = null;
        DateTimeOffset? doneAt = null;
        for (var tick = 0; tick < 2 * 24 * 12 && doneAt is null; tick++)
        {
            await RunAsync(host);
            plan = Assert.Single(await sent.PlansAsync(period.Key, CancellationToken.None));
            doneAt = plan.State == "done" ? time.GetUtcNow() : null;
            time.Advance(TimeSpan.FromMinutes(5));
        }

        // RFC 8460 §5.5: given up 24 hours after the first attempt (not from a NotBefore moved by each retry),
        // with the reason recorded; the period is finished and its counts are deleted.
        Assert.NotNull(doneAt);
        Assert.NotNull(plan!.FirstAttempt);
        Assert.InRange(doneAt!.Value - plan.FirstAttempt!.Value, TimeSpan.FromHours(20), TimeSpan.FromHours(24));
        Assert.StartsWith("gave up: the TLSRPT record lookup failed", plan.Outcome, StringComparison.Ordinal);
        Assert.Contains(await sent.MarkersAsync(CancellationToken.None), m => m.RowKey == period.Key && m.Complete);
        Assert.Empty(await host.Services.GetRequiredService<Core.Storage.TlsResultsStore>().ReadAsync(period.HourKeys(), CancellationToken.None));

        // Exponential back-off: a dozen lookups, not one per tick.
        var lookups = host.Dns.QueriesByName.Where(q => q.Key.StartsWith("_smtp._tls.example.com", StringComparison.OrdinalIgnoreCase)).Sum(q => q.Value);
        Assert.InRange(lookups, 1, 40);
    }

    [Fact]
    public async Task SendNowAsync_OpenPeriod_SentAtOnceAndOnlyOnce()
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        await using var endpoint = await HttpsRuaAsync(host, "example.com");
        Record(host, "example.com", successes: 2, failures: 1);
        var sender = host.Services.GetRequiredService<TlsReportSender>();

        var now = await sender.SendNowAsync(time.GetUtcNow(), CancellationToken.None);
        var again = await sender.SendNowAsync(time.GetUtcNow(), CancellationToken.None);
        time.SetUtcNow(AllDue);
        var timer = await RunAsync(host);

        Assert.Equal(new TlsReportRunResult(1, 1, 0, 0), now);
        Assert.Equal(new TlsReportRunResult(0, 0, 0, 0), again);
        Assert.Equal(0, timer.Sent);
        var (_, body) = Assert.Single(endpoint.Received);
        using var gunzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
        using var json = new MemoryStream();
        await gunzip.CopyToAsync(json);
        var report = TlsRptReportSerializer.Parse(json.ToArray());
        Assert.Equal((2L, 1L), (report.TotalSuccessfulSessions, report.TotalFailureSessions));
        Assert.Equal(TlsRptDateRange.UtcDay(new DateOnly(2026, 11, 27)), report.DateRange);
    }

    [Fact]
    public async Task SendNowAsync_PlannedPeriodWaitingForItsRandomDelay_SentNowAndOnlyOnce()
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        await using var endpoint = await HttpsRuaAsync(host, "example.com");
        Record(host, "example.com", successes: 4, failures: 0);

        // Planned by the timer just after the grace: the random delay still runs.
        time.SetUtcNow(new DateTimeOffset(2026, 11, 28, 0, 10, 1, TimeSpan.Zero));
        await RunAsync(host);
        var plan = Assert.Single(await host.Services.GetRequiredService<Core.Storage.SentTlsReportsStore>().PlansAsync(TlsReportPeriod.Containing(Core.Configuration.TlsReportFrequency.Daily, Friday).Key, CancellationToken.None));
        var waiting = plan.State == "pending";
        var now = await host.Services.GetRequiredService<TlsReportSender>().SendNowAsync(Friday, CancellationToken.None);
        time.SetUtcNow(AllDue);

        Assert.True(waiting || endpoint.Received.Count == 1);
        Assert.Equal(0, (await RunAsync(host)).Sent);
        Assert.Single(endpoint.Received);
        Assert.Equal(0, now.PeriodsPlanned);
    }

    [Fact]
    public async Task RunAsync_PeriodFinished_CountsDeletedAndPlansKeptForTheRetention()
    {
        var (host, time) = await StartAsync();
        await using var _ = host;
        await using var endpoint = await HttpsRuaAsync(host, "example.com");
        Record(host, "example.com", successes: 2, failures: 0);
        time.SetUtcNow(AllDue);
        Assert.Equal(1, (await RunAsync(host)).Sent);

        var period = TlsReportPeriod.Containing(Core.Configuration.TlsReportFrequency.Daily, Friday);
        var results = host.Services.GetRequiredService<Core.Storage.TlsResultsStore>();
        Assert.Empty(await results.ReadAsync(period.HourKeys(), CancellationToken.None));
        var sent = host.Services.GetRequiredService<Core.Storage.SentTlsReportsStore>();
        Assert.Single(await sent.PlansAsync(period.Key, CancellationToken.None));

        time.Advance(TlsReportDefaults.Retention + TimeSpan.FromDays(1));
        await RunAsync(host);
        Assert.Empty(await sent.PlansAsync(period.Key, CancellationToken.None));
        Assert.Empty(await ReportingTables.DeliveriesAsync(storage));
        Assert.DoesNotContain(await sent.MarkersAsync(CancellationToken.None), m => m.RowKey == period.Key);
    }

    [Fact]
    public async Task RunAsync_SendNever_RecordsAndSendsNothing()
    {
        await ReportingTables.ResetAsync(storage);
        await using var host = await MtaTestHost.StartAsync(storage, ("Report:Tls:Aggregate:Send", "never"));
        host.Services.GetRequiredService<ITlsSessionRecorder>().Record(Session("example.com"));
        Assert.Empty(host.Services.GetRequiredService<TlsSessionCounter>().Peek());
        Assert.Equal(new TlsReportRunResult(0, 0, 0, 0), await RunAsync(host));
        Assert.Empty(await ReportingTables.DeliveriesAsync(storage));
    }

    private static byte[] Gunzip(byte[] gzip)
    {
        using var gunzip = new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress);
        using var json = new MemoryStream();
        gunzip.CopyTo(json);
        return json.ToArray();
    }
}
