using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>
/// Reads a report from a stream as it arrives (RFC 8460 §4.4, tolerant as <see cref="TlsRptReportSerializer"/>
/// describes), holding one small value at a time: the report's structure is walked token by token, and only the
/// small objects (date-range, a summary, one failure-detail) are parsed whole.
/// </summary>
/// <remarks>
/// Every field is checked whether or not it is kept; with <c>keepText</c> false the texts nobody reads from a
/// large report (policy strings, MX patterns, the optional texts of failure details) are checked and dropped, so
/// what a report costs in memory is its figures, not its size.
/// </remarks>
internal sealed class TlsRptReportReader
{
    /// <summary>Nesting a report never needs; deeper input is refused before it costs anything.</summary>
    public const int MaxDepth = 16;

    private static readonly string[] DateTimeFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd HH:mm:ssK",
        "yyyy-MM-dd HH:mm:ss.FFFFFFFK",
    ];

    private readonly JsonStreamCursor _cursor;
    private readonly bool _keepText;
    private readonly Tally _tally = new();

    private TlsRptReportReader(JsonStreamCursor cursor, bool keepText)
    {
        _cursor = cursor;
        _keepText = keepText;
    }

    /// <summary>Reads the report in <paramref name="utf8Json"/> to its end.</summary>
    /// <param name="utf8Json">UTF-8 JSON, optionally with a byte order mark; read once, front to back.</param>
    /// <param name="keepText">False to drop the texts only operators of small reports read (see remarks).</param>
    /// <exception cref="TlsRptReportFormatException">Not JSON, not a report, or past a <see cref="TlsRptLimits"/> ceiling; the message names the field.</exception>
    public static TlsRptReport Read(Stream utf8Json, bool keepText)
    {
        using var cursor = new JsonStreamCursor(utf8Json, MaxDepth);
        try
        {
            return new TlsRptReportReader(cursor, keepText).ReadReport();
        }
        catch (JsonException e)
        {
            throw new TlsRptReportFormatException("report", "not valid JSON: " + e.Message);
        }
    }

    private TlsRptReport ReadReport()
    {
        if (!_cursor.Read("report"))
        {
            throw new JsonException("The input does not contain any JSON tokens.");
        }

        if (_cursor.Token != JsonTokenType.StartObject)
        {
            throw new TlsRptReportFormatException("report", $"is a JSON {Kind(_cursor.Token)}, not an object");
        }

        string? organization = null, reportId = null, contact = null;
        (DateTimeOffset Start, DateTimeOffset End)? range = null;
        List<TlsRptPolicyResult>? results = null;
        while (NextProperty("report") is { } name)
        {
            switch (name)
            {
                case "organization-name":
                    organization = ReadString(name, TlsRptLimits.MaxTextLength);
                    break;
                case "report-id":
                    reportId = ReadString(name, TlsRptLimits.MaxTextLength);
                    break;
                case "contact-info":
                    contact = ReadString(name, TlsRptLimits.MaxTextLength);
                    break;
                case "date-range":
                    range = ReadDateRange();
                    break;
                case "policies":
                    results = ReadPolicies();
                    break;
                default:
                    Skip(name);
                    break;
            }
        }

        // Only whitespace may follow the report; the reader refuses anything else.
        if (_cursor.Read("report"))
        {
            throw new JsonException($"'{_cursor.Token}' is invalid after a single JSON value.");
        }

        var missing = organization is null ? "organization-name" : reportId is null ? "report-id" : null;
        if (missing is not null)
        {
            throw new TlsRptReportFormatException(missing, "is missing or empty");
        }

        if (range is null)
        {
            throw new TlsRptReportFormatException("date-range", "is missing");
        }

        if (results is null)
        {
            throw new TlsRptReportFormatException("policies", "is missing");
        }

        return new TlsRptReport(
            organization!,
            new TlsRptDateRange(range.Value.Start, range.Value.End),

            // Spec note: contact-info is required by §4.4, but Stalwart sends null; the report is still useful.
            contact,
            reportId!,
            results);
    }

    private (DateTimeOffset Start, DateTimeOffset End)? ReadDateRange()
    {
        using var document = _cursor.Capture("date-range")!;
        var range = document.RootElement;
        if (range.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (range.ValueKind != JsonValueKind.Object)
        {
            throw new TlsRptReportFormatException("date-range", $"is a JSON {Kind(range)}, not an object");
        }

        var start = RequiredDateTime(range, "start-datetime", "date-range.");
        var end = RequiredDateTime(range, "end-datetime", "date-range.");
        return end < start
            ? throw new TlsRptReportFormatException("date-range.end-datetime", "is before start-datetime")
            : (start, end);
    }

    private List<TlsRptPolicyResult>? ReadPolicies()
    {
        _cursor.Read("policies");
        if (_cursor.Token == JsonTokenType.Null)
        {
            return null;
        }

        if (_cursor.Token != JsonTokenType.StartArray)
        {
            // RFC 8460 §4: policies MUST be an array even with one policy.
            throw new TlsRptReportFormatException("policies", $"is a JSON {Kind(_cursor.Token)}, not an array");
        }

        var results = new List<TlsRptPolicyResult>();
        var index = 0;
        while (_cursor.Read("policies") && _cursor.Token != JsonTokenType.EndArray)
        {
            if (index >= TlsRptLimits.MaxPolicies)
            {
                throw new TlsRptReportFormatException("policies", $"has {CountRest(index, "policies")} entries; at most {TlsRptLimits.MaxPolicies} are taken");
            }

            results.Add(ReadPolicyResult($"policies[{index++}]"));
        }

        return results;
    }

    private TlsRptPolicyResult ReadPolicyResult(string path)
    {
        if (_cursor.Token != JsonTokenType.StartObject)
        {
            throw new TlsRptReportFormatException(path, $"is a JSON {Kind(_cursor.Token)}, not an object");
        }

        TlsRptReportedPolicy? policy = null;
        TlsRptSummary? summary = null;
        var details = new List<TlsRptFailureDetail>();
        while (NextProperty(path) is { } name)
        {
            switch (name)
            {
                case "policy":
                    policy = ReadPolicy(path + ".policy");
                    break;
                case "summary":
                    summary = ReadSummary(path + ".summary");
                    break;
                case "failure-details":
                    ReadFailureDetails(path, details);
                    break;
                default:
                    Skip($"{path}.{name}");
                    break;
            }
        }

        return new TlsRptPolicyResult(
            policy ?? throw new TlsRptReportFormatException(path + ".policy", "is missing"),
            summary ?? throw new TlsRptReportFormatException(path + ".summary", "is missing"),
            details);
    }

    private TlsRptReportedPolicy? ReadPolicy(string path)
    {
        _cursor.Read(path);
        if (_cursor.Token == JsonTokenType.Null)
        {
            return null;
        }

        if (_cursor.Token != JsonTokenType.StartObject)
        {
            throw new TlsRptReportFormatException(path, $"is a JSON {Kind(_cursor.Token)}, not an object");
        }

        var prefix = path + ".";
        string? type = null, domainText = null;
        IReadOnlyList<string> strings = [], mxHosts = [];
        while (NextProperty(path) is { } name)
        {
            switch (name)
            {
                case "policy-type":
                    type = ReadString(prefix + name, TlsRptLimits.MaxWordLength);
                    break;
                case "policy-domain":
                    domainText = ReadString(prefix + name, TlsRptLimits.MaxTextLength);
                    break;
                case "policy-string":
                    strings = ReadStringOrArray(prefix + name);
                    break;
                case "mx-host":
                    mxHosts = ReadStringOrArray(prefix + name);
                    break;
                default:
                    Skip(prefix + name);
                    break;
            }
        }

        if (type is null)
        {
            throw new TlsRptReportFormatException(prefix + "policy-type", "is missing or empty");
        }

        if (domainText is null && TlsRptWords.ParsePolicyType(type) is TlsRptPolicyType.Sts or TlsRptPolicyType.Tlsa)
        {
            // Spec note: Postfix's reporter leaves policy-domain out for no-policy-found, so only the policy
            // types that always have a domain (sts: the recipient domain; tlsa: the TLSA base domain) need one.
            throw new TlsRptReportFormatException(prefix + "policy-domain", $"is missing for policy-type {type}");
        }

        // RFC 8460 §4.4: policy-domain is the domain the policy is about; only a host name is one.
        var domain = domainText is null
            ? null
            : HostNameSyntax.Normalize(domainText) ?? throw new TlsRptReportFormatException(prefix + "policy-domain", $"'{Shown(domainText)}' is not a host name (letters, digits, hyphens and dots)");
        return new TlsRptReportedPolicy(type, domain, strings, mxHosts);
    }

    private TlsRptSummary? ReadSummary(string path)
    {
        using var document = _cursor.Capture(path)!;
        var summary = document.RootElement;
        if (summary.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (summary.ValueKind != JsonValueKind.Object)
        {
            throw new TlsRptReportFormatException(path, $"is a JSON {Kind(summary)}, not an object");
        }

        var prefix = path + ".";
        var successful = Count(summary, "total-successful-session-count", prefix);

        // Spec note: Google's reports may leave total-failure-session-count out when nothing failed (mail-auth's
        // rpt03 sample); a missing failure count is taken as 0.
        var failed = summary.TryGetProperty("total-failure-session-count", out var f) && f.ValueKind != JsonValueKind.Null
            ? Count(summary, "total-failure-session-count", prefix)
            : 0;
        _tally.AddSessions(successful, prefix + "total-successful-session-count");
        _tally.AddSessions(failed, prefix + "total-failure-session-count");
        return new TlsRptSummary(successful, failed);
    }

    private void ReadFailureDetails(string path, List<TlsRptFailureDetail> details)
    {
        var arrayPath = path + ".failure-details";
        _cursor.Read(arrayPath);
        if (_cursor.Token == JsonTokenType.Null)
        {
            return;
        }

        if (_cursor.Token != JsonTokenType.StartArray)
        {
            throw new TlsRptReportFormatException(arrayPath, $"is a JSON {Kind(_cursor.Token)}, not an array");
        }

        var i = 0;
        while (true)
        {
            var detailPath = $"{path}.failure-details[{i++}]";
            using var detail = _cursor.Capture(detailPath);
            if (detail is null)
            {
                return;
            }

            if (++_tally.FailureDetails > TlsRptLimits.MaxFailureDetails)
            {
                throw new TlsRptReportFormatException(detailPath, $"is past the {TlsRptLimits.MaxFailureDetails} failure-details a report may hold");
            }

            details.Add(ReadFailureDetail(detail.RootElement, detailPath));
        }
    }

    private IReadOnlyList<string> ReadStringOrArray(string field)
    {
        _cursor.Read(field);
        switch (_cursor.Token)
        {
            case JsonTokenType.Null:
                return [];

            // Spec note: RFC 8460 Appendix B prints mx-host as a string although §4.4 says array; both are read.
            case JsonTokenType.String:
                var one = CheckedText(field, TlsRptLimits.MaxTextLength);
                return string.IsNullOrWhiteSpace(one) || !_keepText ? [] : [one.Trim()];
            case JsonTokenType.StartArray:
                break;
            default:
                throw new TlsRptReportFormatException(field, $"is a JSON {Kind(_cursor.Token)}, not an array of strings");
        }

        var list = new List<string>();
        var i = 0;
        while (_cursor.Read(field) && _cursor.Token != JsonTokenType.EndArray)
        {
            if (i >= TlsRptLimits.MaxStrings)
            {
                throw new TlsRptReportFormatException(field, $"has {CountRest(i, field)} entries; at most {TlsRptLimits.MaxStrings} are taken");
            }

            if (_cursor.Token != JsonTokenType.String)
            {
                throw new TlsRptReportFormatException($"{field}[{i}]", $"is a JSON {Kind(_cursor.Token)}, not a string");
            }

            var text = CheckedText($"{field}[{i}]", TlsRptLimits.MaxTextLength);
            if (_keepText)
            {
                list.Add(text);
            }

            i++;
        }

        return list;
    }

    /// <summary>The next property name of the object being read, or null at its end.</summary>
    private string? NextProperty(string path)
    {
        _cursor.Read(path);
        return _cursor.Token == JsonTokenType.EndObject ? null : _cursor.Text ?? "";
    }

    private void Skip(string field)
    {
        _cursor.Read(field);
        _cursor.SkipValue(field);
    }

    /// <summary>Counts the entries of an array from the one just read (entry <paramref name="index"/>) to its end.</summary>
    private int CountRest(int index, string field)
    {
        var count = index + 1;
        _cursor.SkipValue(field);
        while (_cursor.Read(field) && _cursor.Token != JsonTokenType.EndArray)
        {
            count++;
            _cursor.SkipValue(field);
        }

        return count;
    }

    /// <summary>A string field: null when null, blank or missing; trimmed.</summary>
    private string? ReadString(string field, int maxLength)
    {
        _cursor.Read(field);
        if (_cursor.Token == JsonTokenType.Null)
        {
            return null;
        }

        if (_cursor.Token != JsonTokenType.String)
        {
            throw new TlsRptReportFormatException(field, $"is a JSON {Kind(_cursor.Token)}, not a string");
        }

        var text = CheckedText(field, maxLength);
        return string.IsNullOrWhiteSpace(text) ? null : text.Trim();
    }

    private string CheckedText(string field, int maxLength) =>
        CheckText(_cursor.Text, _cursor.TextInvalid, _cursor.RawLength, field, maxLength);

    /// <summary>The text of a JSON string that is valid Unicode, short enough and free of control characters.</summary>
    private static string CheckText(string? text, bool invalid, int rawLength, string field, int maxLength)
    {
        // Length first, from the raw token: a 32 K field is refused before it is decoded.
        if (rawLength > maxLength * 6 || (text is null && !invalid))
        {
            throw new TlsRptReportFormatException(field, $"is longer than {maxLength} characters");
        }

        if (invalid || text is null)
        {
            // RFC 8259 §8.1 / RFC 7493 §2.1: text is UTF-8 without unpaired surrogates.
            throw new TlsRptReportFormatException(field, "is not valid text (invalid UTF-8 or an unpaired surrogate)");
        }

        if (text.Length > maxLength)
        {
            throw new TlsRptReportFormatException(field, $"is longer than {maxLength} characters");
        }

        if (text.Any(char.IsControl))
        {
            throw new TlsRptReportFormatException(field, "holds a control character");
        }

        return text;
    }

    private TlsRptFailureDetail ReadFailureDetail(JsonElement element, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new TlsRptReportFormatException(path, $"is a JSON {Kind(element)}, not an object");
        }

        var prefix = path + ".";
        var resultType = OptionalString(element, "result-type", prefix, TlsRptLimits.MaxWordLength)
            ?? throw new TlsRptReportFormatException(prefix + "result-type", "is missing or empty");
        if (_tally.ResultTypes.Add(resultType) && _tally.ResultTypes.Count > TlsRptLimits.MaxResultTypes)
        {
            throw new TlsRptReportFormatException(prefix + "result-type", $"is past the {TlsRptLimits.MaxResultTypes} distinct result types a report may hold");
        }

        var mxText = OptionalString(element, "receiving-mx-hostname", prefix);
        var mx = mxText is null
            ? null
            : System.Net.IPAddress.TryParse(mxText, out _)
                ? mxText
                : HostNameSyntax.Normalize(mxText) is null
                    ? throw new TlsRptReportFormatException(prefix + "receiving-mx-hostname", $"'{Shown(mxText)}' is not a host name")
                    : mxText;
        var ip = OptionalString(element, "receiving-ip", prefix);
        var host = mx?.TrimEnd('.').ToLowerInvariant() ?? ip;
        if (host is not null && _tally.MxHosts.Add(host) && _tally.MxHosts.Count > TlsRptLimits.MaxMxHosts)
        {
            throw new TlsRptReportFormatException(prefix + "receiving-mx-hostname", $"is past the {TlsRptLimits.MaxMxHosts} distinct MX hosts a report may hold");
        }

        var count = Count(element, "failed-session-count", prefix);
        _tally.AddDetail(count, prefix + "failed-session-count");
        var sendingIp = OptionalString(element, "sending-mta-ip", prefix);
        var helo = OptionalString(element, "receiving-mx-helo", prefix);
        var information = OptionalString(element, "additional-information", prefix);
        var reasonCode = OptionalString(element, "failure-reason-code", prefix);
        return _keepText
            ? new TlsRptFailureDetail(resultType, sendingIp, mx, helo, ip, count, information, reasonCode)
            : new TlsRptFailureDetail(resultType, null, mx, null, ip, count, null, null);
    }

    private static string? OptionalString(JsonElement parent, string name, string prefix, int maxLength = TlsRptLimits.MaxTextLength)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw new TlsRptReportFormatException(prefix + name, $"is a JSON {Kind(value)}, not a string");
        }

        var rawLength = JsonMarshal.GetRawUtf8Value(value).Length - 2;
        string? text = null;
        var invalid = false;
        if (rawLength <= maxLength * 6)
        {
            try
            {
                text = value.GetString()!;
            }
            catch (InvalidOperationException)
            {
                invalid = true;
            }
        }

        text = CheckText(text, invalid, rawLength, prefix + name, maxLength);
        return string.IsNullOrWhiteSpace(text) ? null : text.Trim();
    }

    private static long Count(JsonElement parent, string name, string prefix)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            throw new TlsRptReportFormatException(prefix + name, "is missing");
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var count) || count < 0)
        {
            var raw = JsonMarshal.GetRawUtf8Value(value);
            throw new TlsRptReportFormatException(prefix + name, $"'{Shown(System.Text.Encoding.UTF8.GetString(raw[..Math.Min(100, raw.Length)]))}' is not a count (a whole number 0 or more)");
        }

        // RFC 7493 §2.2: integers past 2^53 are not exact in JSON; no real report comes near.
        return count <= TlsRptLimits.MaxCount
            ? count
            : throw new TlsRptReportFormatException(prefix + name, $"{count} is more than {TlsRptLimits.MaxCount} (2^53 - 1), the largest count taken");
    }

    private static DateTimeOffset RequiredDateTime(JsonElement parent, string name, string prefix)
    {
        var text = OptionalString(parent, name, prefix, TlsRptLimits.MaxWordLength)
            ?? throw new TlsRptReportFormatException(prefix + name, "is missing or empty");

        // RFC 8460 §4.4: date-times are RFC 3339 (with or without fractional seconds, Z or an offset; RFC 3339
        // §5.6 allows lower-case t and z, and a space for T).
        return DateTimeOffset.TryParseExact(text.ToUpperInvariant(), DateTimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value)
            ? value.ToUniversalTime()
            : throw new TlsRptReportFormatException(prefix + name, $"'{text}' is not an RFC 3339 date-time such as 2016-04-01T00:00:00Z");
    }

    /// <summary>At most 64 characters of untrusted text, for a message.</summary>
    private static string Shown(string text) => text.Length <= 64 ? text : text[..64] + "...";

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => "null",
    };

    private static string Kind(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "object",
        JsonTokenType.StartArray => "array",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        _ => "null",
    };

    /// <summary>What a report holds so far, against the <see cref="TlsRptLimits"/> over the whole report.</summary>
    private sealed class Tally
    {
        private long _sessions;
        private long _failed;

        public int FailureDetails { get; set; }

        public HashSet<string> ResultTypes { get; } = new(StringComparer.Ordinal);

        public HashSet<string> MxHosts { get; } = new(StringComparer.Ordinal);

        public void AddSessions(long count, string field)
        {
            // Both terms are at most 2^53 - 1, so the sum cannot overflow before it is checked.
            _sessions += count;
            if (_sessions > TlsRptLimits.MaxCount)
            {
                throw new TlsRptReportFormatException(field, $"takes the report's sessions past {TlsRptLimits.MaxCount} (2^53 - 1)");
            }
        }

        public void AddDetail(long count, string field)
        {
            _failed += count;
            if (_failed > TlsRptLimits.MaxCount)
            {
                throw new TlsRptReportFormatException(field, $"takes the report's failed-session-counts past {TlsRptLimits.MaxCount} (2^53 - 1)");
            }
        }
    }
}
