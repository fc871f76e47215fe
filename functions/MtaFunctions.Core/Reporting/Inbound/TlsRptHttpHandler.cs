using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MtaFunctions.Core.Configuration;

namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>
/// The TLS-RPT routes as plain handlers (stream and strings in, status and body out), so that the Function App's
/// triggers and LocalHost's Kestrel routes run the same code.
/// </summary>
public sealed class TlsRptHttpHandler(TlsReportIntake intake, IReceivedTlsReportStore store, TlsRptInboundSettings settings, TimeProvider time)
{
    /// <summary>The longest period a summary covers.</summary>
    public const int MaxSummaryDays = 366;

    private const string JsonType = "application/json; charset=utf-8";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,

        // Answers are application/json, never inlined into HTML; messages stay readable ('x' rather than \u0027x\u0027).
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>POST /api/tlsrpt: 202 stored, 200 duplicate, 400/401/403/413/415 with a message naming the problem.</summary>
    public async Task<TlsRptHttpResponse> PostReportAsync(Stream body, string? contentType, long? contentLength, string? key, CancellationToken cancellationToken) =>
        Answer(await intake.ReceiveHttpAsync(body, contentType, contentLength, key, cancellationToken).ConfigureAwait(false));

    /// <summary>POST /api/tlsrpt/mail: a whole RFC 5322 report message; statuses as <see cref="PostReportAsync"/>.</summary>
    public async Task<TlsRptHttpResponse> PostMailAsync(Stream message, long? contentLength, CancellationToken cancellationToken) =>
        Answer(await intake.ReceiveMailAsync(message, contentLength, cancellationToken).ConfigureAwait(false));

    /// <summary>GET /api/tlsrpt/summary?domain=&amp;from=&amp;to=: the summary JSON, or 400 naming the bad parameter.</summary>
    /// <remarks>Days are UTC dates <c>yyyy-MM-dd</c>; <c>to</c> defaults to today, <c>from</c> to 29 days before <c>to</c>; no domain means all of ours.</remarks>
    public async Task<TlsRptHttpResponse> GetSummaryAsync(string? domain, string? from, string? to, CancellationToken cancellationToken)
    {
        domain = string.IsNullOrWhiteSpace(domain) ? null : domain.Trim().TrimEnd('.').ToLowerInvariant();
        if (domain is not null && !settings.IsOurs(domain))
        {
            return Error(400, $"domain: '{domain}' is not one of ours ({SettingKeys.TlsRptInboundDomains})");
        }

        if (!TryDay(to, DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime), out var last))
        {
            return Error(400, $"to: '{to}' is not a date yyyy-MM-dd");
        }

        if (!TryDay(from, last.AddDays(-29), out var first))
        {
            return Error(400, $"from: '{from}' is not a date yyyy-MM-dd");
        }

        if (first > last || last.DayNumber - first.DayNumber >= MaxSummaryDays)
        {
            return Error(400, $"from..to: {first:yyyy-MM-dd}..{last:yyyy-MM-dd} must be in order and at most {MaxSummaryDays} days");
        }

        var rows = new List<ReceivedDomainReport>();
        await foreach (var row in store.QueryAsync(domain, first, last, cancellationToken).ConfigureAwait(false))
        {
            rows.Add(row);
        }

        var summary = ReceivedTlsReportSummary.Build(domain, first, last, rows);
        return new TlsRptHttpResponse(200, JsonType, JsonSerializer.Serialize(summary, Json));
    }

    /// <summary>GET /api/tlsrpt/dashboard: the page that draws the summary.</summary>
    public static TlsRptHttpResponse GetDashboard() => new(200, "text/html; charset=utf-8", TlsRptDashboard.Html);

    private static TlsRptHttpResponse Answer(TlsReportIntakeOutcome outcome)
    {
        var status = outcome.Status switch
        {
            TlsReportIntakeStatus.Stored => 202,
            TlsReportIntakeStatus.Duplicate => 200,
            TlsReportIntakeStatus.KeyRequired => 401,
            TlsReportIntakeStatus.ForeignDomain => 403,
            TlsReportIntakeStatus.TooLarge => 413,
            TlsReportIntakeStatus.UnsupportedMediaType => 415,
            _ => 400,
        };
        return outcome.Accepted
            ? new TlsRptHttpResponse(status, JsonType, JsonSerializer.Serialize(new { status = outcome.Status, message = outcome.Message, organization = outcome.OrganizationName, reportId = outcome.ReportId, policyDomains = outcome.PolicyDomains }, Json))
            : Error(status, outcome.Message);
    }

    private static TlsRptHttpResponse Error(int status, string message) =>
        new(status, JsonType, JsonSerializer.Serialize(new { error = message }, Json));

    private static bool TryDay(string? text, DateOnly fallback, out DateOnly day)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            day = fallback;
            return true;
        }

        return DateOnly.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day);
    }
}
