using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MtaFunctions.Core.Reporting.Inbound;

namespace MtaFunctions.Core.Operations;

/// <summary>
/// The outbound view's routes as plain handlers (strings in, status and body out), so that the Function App's
/// triggers and LocalHost's Kestrel routes run the same code.
/// </summary>
public sealed class OutboundHttpHandler(OutboundSummaryReader reader)
{
    /// <summary>The range when <c>hours</c> is not given.</summary>
    public const int DefaultHours = 24;

    private const string JsonType = "application/json; charset=utf-8";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,

        // Answers are application/json, never inlined into HTML (the page sets text, never markup).
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>GET /api/outbound/summary?hours=N: the summary JSON, or 400 naming the bad parameter.</summary>
    public async Task<TlsRptHttpResponse> GetSummaryAsync(string? hours, CancellationToken cancellationToken)
    {
        var range = DefaultHours;
        if (!string.IsNullOrWhiteSpace(hours)
            && (!int.TryParse(hours.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out range) || range is < 1 or > OutboundSummaryReader.MaxHours))
        {
            return new(400, JsonType, JsonSerializer.Serialize(new { error = $"hours: '{hours}' is not a whole number from 1 to {OutboundSummaryReader.MaxHours}" }, Json));
        }

        var summary = await reader.ReadAsync(range, cancellationToken).ConfigureAwait(false);
        return new(200, JsonType, JsonSerializer.Serialize(summary, Json));
    }

    /// <summary>GET /api/outbound/dashboard: the page that draws the summary.</summary>
    public static TlsRptHttpResponse GetDashboard() => new(200, "text/html; charset=utf-8", OutboundDashboard.Html);
}
