using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Reporting.Inbound;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Tests.Reporting.Inbound;

/// <summary>
/// Reports built to break the intake, through real HTTP into Azurite: each is refused with 400 naming the field
/// and writes nothing, or is taken as real reporters send it.
/// </summary>
public sealed class TlsRptIntakeDefenceTests(TlsRptHostFixture fixture) : IClassFixture<TlsRptHostFixture>
{
    private const string ReportPath = "/api/tlsrpt";
    private const string MailPath = "/api/tlsrpt/mail";
    private const string Domain = "defence.example";

    private static readonly string FixtureFolder = Path.Combine(Infrastructure.RepoPaths.Root, "tests", "MtaFunctions.Tests", "Reporting", "Inbound", "Fixtures");

    private HttpClient Http => fixture.Http;

    public static TheoryData<string, string, string> RefusedRows() => new()
    {
        // 1: counts past 2^53 - 1, alone or added up within one report.
        { "count past 2^53", Report(successful: "9223372036854775807"), "policies[0].summary.total-successful-session-count: 9223372036854775807 is more than 9007199254740991" },
        { "two policies past 2^53 together", Report(policies: [Policy(successful: "9007199254740991"), Policy(successful: "9007199254740991")]), "policies[1].summary.total-successful-session-count: takes the report's sessions past" },
        { "two failure rows past 2^53 together", Report(details: [Detail(count: "9007199254740991"), Detail(count: "9007199254740991")]), "policies[0].failure-details[1].failed-session-count: takes the report's failed-session-counts past" },

        // 5: invalid text.
        { "lone surrogate", Report(organization: "\\ud800"), "organization-name: is not valid text" },

        // 8: policy domains that are no host names.
        { "space and markup in the domain", Report(domain: "a b<script>." + Domain), "policy-domain: 'a b<script>.defence.example' is not a host name" },
        { "'#' in the domain", Report(domain: "x#." + Domain), "policy-domain: 'x#.defence.example' is not a host name" },
        { "'/' in the domain", Report(domain: "x/." + Domain), "policy-domain: " },
        { "'?' in the domain", Report(domain: "x?." + Domain), "policy-domain: " },
        { "'\\' in the domain", Report(domain: "x\\\\." + Domain), "policy-domain: " },
        { "tab in the domain", Report(domain: "x\\t." + Domain), "policy-domain: " },
        { "control character in the domain", Report(domain: "x\\u0001." + Domain), "policy-domain: " },
        { "domain over 1 KiB", Report(domain: string.Concat(Enumerable.Repeat("a.", 600)) + Domain), "policy-domain: " },
        { "label over 63", Report(domain: new string('a', 64) + "." + Domain), "policy-domain: " },

        // 3: lengths and counts checked before anything is written.
        { "organisation of 32 K", Report(organization: new string('o', 32 * 1024)), "organization-name: is longer than 1024 characters" },
        { "report-id of 32 K", Report(reportId: new string('r', 32 * 1024)), "report-id: is longer than 1024 characters" },
        { "contact of 32 K", Report(contact: new string('c', 32 * 1024)), "contact-info: is longer than 1024 characters" },
        { "3,000 distinct result types", Report(details: Enumerable.Range(0, 3000).Select(i => Detail(type: "type-" + i)).ToArray()), "failure-details[50].result-type: is past the 50 distinct result types" },
        { "1,001 failure details", Report(details: Enumerable.Range(0, 1001).Select(_ => Detail()).ToArray()), "failure-details[1000]: is past the 1000 failure-details" },
        { "101 distinct MX hosts", Report(details: Enumerable.Range(0, 101).Select(i => Detail(mx: $"mx{i}.{Domain}")).ToArray()), "failure-details[100].receiving-mx-hostname: is past the 100 distinct MX hosts" },
        { "101 policies", Report(policies: Enumerable.Range(0, 101).Select(i => Policy()).ToArray()), "policies: has 101 entries; at most 100 are taken" },
        { "41 sub-domains", Report(policies: Enumerable.Range(0, 41).Select(i => Policy(domain: $"s{i}." + Domain)).ToArray()), "policies: name 41 policy domains; at most 40 are taken" },
    };

    [Theory]
    [MemberData(nameof(RefusedRows))]
    public async Task PostReport_BrokenReport_400NamingTheFieldAndNothingWritten(string reason, string json, string message)
    {
        var before = await StoredAsync();

        var result = await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptHostFixture.Gzip(Encoding.UTF8.GetBytes(json)), TlsRptMediaTypes.Gzip);

        Assert.True(result.Status == 400, $"{reason}: {result.Status} {result.Body}");
        Assert.Contains(message, JsonDocument.Parse(result.Body).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await StoredAsync());
    }

    [Fact]
    public async Task PostReport_TenThousandSubDomainsUnderTheDefaultLimits_400AndNothingWritten()
    {
        var host = await fixture.StartHostAsync(
            (Core.Configuration.SettingKeys.TlsRptInboundMaxBodySize, "5242880"),
            (Core.Configuration.SettingKeys.TlsRptInboundMaxReportSize, "20971520"));
        using var http = new HttpClient { BaseAddress = MtaFunctions.LocalHost.LocalHttpHost.BaseAddress(host) };
        var json = Report(policies: Enumerable.Range(0, 10_000).Select(i => Policy(domain: $"s{i}." + Domain)).ToArray());
        var before = await StoredAsync();

        var result = await TlsRptHostFixture.PostAsync(http, ReportPath, TlsRptHostFixture.Gzip(Encoding.UTF8.GetBytes(json)), TlsRptMediaTypes.Gzip);

        Assert.Equal(400, result.Status);
        Assert.Contains("policies: has 10000 entries; at most 100 are taken", result.Body, StringComparison.Ordinal);
        Assert.Equal(before, await StoredAsync());
    }

    [Fact]
    public async Task PostReport_RawFfByteInAString_400NamingTheField()
    {
        var json = Encoding.UTF8.GetBytes(Report(reportId: "id-XX"));
        var at = Encoding.UTF8.GetString(json).IndexOf("id-XX", StringComparison.Ordinal) + 3;
        json[at] = 0xFF;
        var before = await StoredAsync();

        var result = await TlsRptHostFixture.PostAsync(Http, ReportPath, json, TlsRptMediaTypes.Json);

        Assert.Equal(400, result.Status);
        Assert.Contains("report-id", result.Body, StringComparison.Ordinal);
        Assert.Equal(before, await StoredAsync());
    }

    [Fact]
    public async Task PostMail_CountPast2To53_400AndNothingWritten()
    {
        var message = TlsRptEndpointTests.Mail(Domain, "mail-big-count", Encoding.UTF8.GetBytes(Report(reportId: "mail-big-count", successful: "9223372036854775807")), "tlsrpt+json", ".json");
        var before = await StoredAsync();

        var result = await TlsRptHostFixture.PostAsync(Http, MailPath, message, "message/rfc822");

        Assert.Equal(400, result.Status);
        Assert.Contains("total-successful-session-count", result.Body, StringComparison.Ordinal);
        Assert.Equal(before, await StoredAsync());
    }

    [Fact]
    public async Task GetSummary_ReportsAtTheCeiling_AddUpWithoutOverflow()
    {
        // 2^53 - 1 per report is allowed; 1,100 of them pass 2^63 together, and the summary still answers.
        var day = new DateOnly(2025, 3, 1);
        await Parallel.ForEachAsync(Enumerable.Range(0, 1100), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var result = await TlsRptHostFixture.PostAsync(Http, ReportPath, Encoding.UTF8.GetBytes(Report(reportId: "max-" + i, day: day, successful: "9007199254740990", details: [Detail(count: "1")], failed: "1")), TlsRptMediaTypes.Json);
            Assert.Equal(202, result.Status);
        });

        using var response = await Http.GetAsync($"/api/tlsrpt/summary?domain={Domain}&from=2025-03-01&to=2025-03-01", TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(200, (int)response.StatusCode);
        using var summary = JsonDocument.Parse(body);
        Assert.Equal(long.MaxValue, summary.RootElement.GetProperty("totals").GetProperty("successful").GetInt64());
        Assert.Equal(1100, summary.RootElement.GetProperty("totals").GetProperty("failed").GetInt64());
    }

    [Fact]
    public async Task PostReport_ForgedReportWithThePredictableId_GenuineOneStillStored()
    {
        const string id = "2026-11-28T00:00:00Z_defence.example";
        var forged = Report(organization: "Google Inc.", reportId: id, day: new DateOnly(2026, 11, 28), failed: "0", successful: "1");
        var genuine = Report(organization: "Google Inc.", reportId: id, day: new DateOnly(2026, 11, 28), failed: "0", successful: "1234");

        var first = await TlsRptHostFixture.PostAsync(Http, ReportPath, Encoding.UTF8.GetBytes(forged), TlsRptMediaTypes.Json);
        var real = await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptHostFixture.Gzip(Encoding.UTF8.GetBytes(genuine)), TlsRptMediaTypes.Gzip);
        var retry = await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptHostFixture.Gzip(Encoding.UTF8.GetBytes(genuine)), TlsRptMediaTypes.Gzip);

        Assert.Equal(202, first.Status);
        Assert.Equal(202, real.Status);
        Assert.Equal(200, retry.Status);
        var raw = await Store.ReadRawAsync(ReceivedTlsReport.KeyOf("Google Inc.", id, Encoding.UTF8.GetBytes(genuine)), new DateOnly(2026, 11, 28), CancellationToken.None);
        Assert.Equal(genuine, raw!.ToString());
    }

    [Fact]
    public async Task PostReport_ManyReportsOfOneDomainDay_RunningTotalKeptWithoutReReadingRows()
    {
        var day = new DateOnly(2025, 5, 5);
        await Parallel.ForEachAsync(Enumerable.Range(0, 60), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var json = Report(reportId: "run-" + i, day: day, successful: "10", failed: (i % 3).ToString(System.Globalization.CultureInfo.InvariantCulture), details: i % 3 == 0 ? [] : [Detail(count: (i % 3).ToString(System.Globalization.CultureInfo.InvariantCulture))]);
            Assert.Equal(202, (await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptHostFixture.Gzip(Encoding.UTF8.GetBytes(json)), TlsRptMediaTypes.Gzip)).Status);
        });

        var totals = await Store.TotalsAsync(Domain, day, CancellationToken.None);

        Assert.Equal((600L, 60L, 60), totals);
    }

    [Fact]
    public async Task PostReport_BlobLeftByACrashBeforeTheClaim_RetryStoresItOnce()
    {
        // A report too large for its claim row has its blob written first; a crash there leaves the blob alone.
        var day = new DateOnly(2025, 6, 6);
        var json = Encoding.UTF8.GetBytes(Report(reportId: "crash-1", day: day, details: Enumerable.Range(0, 400).Select(i => Detail(type: "certificate-expired", mx: $"mx{i % 90}.{Domain}")).ToArray(), failed: "400"));
        Assert.True(json.Length > ReceivedTlsReportStore.MaxInlineBytes);
        var key = ReceivedTlsReport.KeyOf("Defence Org", "crash-1", json);
        await fixture.Host.Services.GetRequiredService<StorageAccount>().Blobs.GetBlobContainerClient(StorageNames.ReceivedTlsReportContainer)
            .UploadBlobAsync($"{day:yyyy/MM/dd}/{key}.json", BinaryData.FromBytes(json), TestContext.Current.CancellationToken);

        var retry = await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptHostFixture.Gzip(json), TlsRptMediaTypes.Gzip);
        var again = await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptHostFixture.Gzip(json), TlsRptMediaTypes.Gzip);

        Assert.Equal(202, retry.Status);
        Assert.Equal(200, again.Status);
        Assert.Equal((5L, 400L, 1), await Store.TotalsAsync(Domain, day, CancellationToken.None));
        Assert.Equal(json, (await Store.ReadRawAsync(key, day, CancellationToken.None))!.ToArray());
    }

    [Fact]
    public async Task PostReport_GoogleRealReport_Stored()
    {
        var json = File.ReadAllBytes(Path.Combine(FixtureFolder, "mail-auth-rpt02-google.json"));

        var result = await TlsRptHostFixture.PostAsync(Http, ReportPath, TlsRptHostFixture.Gzip(json), TlsRptMediaTypes.Gzip);

        Assert.Equal(202, result.Status);
        Assert.Equal((23L, 1L, 1), await Store.TotalsAsync("example.com", new DateOnly(2020, 1, 1), CancellationToken.None));
    }

    [Fact]
    public async Task PostMail_GoogleReportWithoutFailureCount_CountsItAsZero()
    {
        // mail-auth's rpt03: no total-failure-session-count, no policy-domain; the mail's TLS-Report-Domain names it.
        var json = File.ReadAllBytes(Path.Combine(FixtureFolder, "mail-auth-rpt03-google-no-failure-count.json"));

        var mail = await TlsRptHostFixture.PostAsync(Http, MailPath, TlsRptEndpointTests.Mail("example.org", "2019-04-14T00:00:00Z_example.org", TlsRptHostFixture.Gzip(json), "tlsrpt+gzip", ".json.gz"), "message/rfc822");
        var https = await TlsRptHostFixture.PostAsync(Http, ReportPath, json, TlsRptMediaTypes.Json);

        Assert.True(mail.Status == 202, mail.Body);
        Assert.Equal((2L, 0L, 1), await Store.TotalsAsync("example.org", new DateOnly(2019, 4, 14), CancellationToken.None));

        // Over HTTPS nothing names the domain; the refusal says so, not that a count is missing.
        Assert.Equal(400, https.Status);
        Assert.Contains("policy-domain: missing", https.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mox-google.eml", "2022-09-15", 3L)]
    [InlineData("mox-microsoft.eml", "2023-01-10", 2L)]
    public async Task PostMail_RealReportMail_Stored(string file, string day, long successful)
    {
        var result = await TlsRptHostFixture.PostAsync(Http, MailPath, File.ReadAllBytes(Path.Combine(FixtureFolder, file)), "message/rfc822");

        Assert.True(result.Status == 202, result.Body);
        Assert.Equal((successful, 0L, 1), await Store.TotalsAsync("test.xmox.nl", DateOnly.Parse(day, System.Globalization.CultureInfo.InvariantCulture), CancellationToken.None));
    }

    private ReceivedTlsReportStore Store => fixture.Host.Services.GetRequiredService<ReceivedTlsReportStore>();

    /// <summary>Every entity and blob of the received-report stores.</summary>
    private async Task<(int Entities, int Blobs)> StoredAsync()
    {
        var account = fixture.Host.Services.GetRequiredService<StorageAccount>();
        var entities = 0;
        await foreach (var _ in account.Tables.GetTableClient(StorageNames.ReceivedTlsReportsTable).QueryAsync<TableEntity>(select: ["PartitionKey"]))
        {
            entities++;
        }

        var blobs = 0;
        await foreach (var _ in account.Blobs.GetBlobContainerClient(StorageNames.ReceivedTlsReportContainer).GetBlobsAsync())
        {
            blobs++;
        }

        return (entities, blobs);
    }

    private static string Report(
        string organization = "Defence Org",
        string reportId = "defence-1",
        string contact = "tlsrpt@defence-org.example",
        string domain = Domain,
        DateOnly? day = null,
        string successful = "5",
        string failed = "0",
        string[]? details = null,
        string[]? policies = null)
    {
        var d = day ?? new DateOnly(2025, 1, 1);
        policies ??= [Policy(domain, successful, failed, details ?? [])];
        return $$"""{"organization-name":"{{organization}}","date-range":{"start-datetime":"{{d:yyyy-MM-dd}}T00:00:00Z","end-datetime":"{{d:yyyy-MM-dd}}T23:59:59Z"},"contact-info":"{{contact}}","report-id":"{{reportId}}","policies":[{{string.Join(",", policies)}}]}""";
    }

    private static string Policy(string domain = Domain, string successful = "5", string failed = "0", string[]? details = null) =>
        $$"""{"policy":{"policy-type":"sts","policy-string":["version: STSv1","mode: enforce"],"policy-domain":"{{domain}}","mx-host":["*.{{Domain}}"]},"summary":{"total-successful-session-count":{{successful}},"total-failure-session-count":{{failed}}},"failure-details":[{{string.Join(",", details ?? [])}}]}""";

    private static string Detail(string type = "certificate-expired", string count = "1", string? mx = null) =>
        $$"""{"result-type":"{{type}}","sending-mta-ip":"192.0.2.1","receiving-mx-hostname":"{{mx ?? "mx." + Domain}}","failed-session-count":{{count}}}""";
}
