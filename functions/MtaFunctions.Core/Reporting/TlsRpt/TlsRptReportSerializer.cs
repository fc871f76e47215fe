using System.Globalization;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>Writes reports strictly and reads them tolerantly (RFC 8460 §4.4).</summary>
/// <remarks>
/// <para>Writing follows the RFC to the letter: every §4.4 field under its hyphenated name, <c>policies</c>,
/// <c>policy-string</c> and <c>mx-host</c> always arrays, unknown optional fields left out instead of written as
/// <c>null</c>, date-times in UTC with <c>Z</c>.</para>
/// <para>Reading takes what real reporters send (RFC 8460 §7: treat reports as untrusted, but be liberal): an
/// <c>mx-host</c> or <c>policy-string</c> given as a string (as RFC 8460 Appendix B prints it) or missing,
/// missing <c>sending-mta-ip</c>, explicit <c>null</c> for optional fields, a missing <c>policy-domain</c> for
/// policy types other than sts and tlsa, unknown policy and result types, date-times with or without fractions
/// and with any offset. Anything that is not a report fails with <see cref="TlsRptReportFormatException"/>
/// naming the field.</para>
/// </remarks>
public static class TlsRptReportSerializer
{
    /// <summary>Nesting a report never needs; deeper input is refused before it costs anything.</summary>
    private const int MaxDepth = 16;

    private static readonly JsonSerializerOptions WriteOptions = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
    };

    private static readonly string[] DateTimeFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd HH:mm:ssK",
        "yyyy-MM-dd HH:mm:ss.FFFFFFFK",
    ];

    /// <summary>The report as UTF-8 I-JSON (RFC 8460 §4), with no <c>null</c> anywhere.</summary>
    /// <exception cref="ArgumentException">The report breaks a rule the RFC sets (blank names, negative counts, a range ending before it starts).</exception>
    public static byte[] Serialize(TlsRptReport report) =>
        JsonSerializer.SerializeToUtf8Bytes(ToJson(report), WriteOptions);

    /// <summary>The report as gzip'd JSON, the form RFC 8460 §5.2 recommends for email and HTTPS.</summary>
    /// <exception cref="ArgumentException">As <see cref="Serialize(TlsRptReport)"/>.</exception>
    public static byte[] SerializeGzip(TlsRptReport report)
    {
        var json = Serialize(report);
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(json);
        }

        return buffer.ToArray();
    }

    /// <summary>The wire shape of a report; lists are never null, optional unknowns are null (and so left out).</summary>
    /// <exception cref="ArgumentException">As <see cref="Serialize(TlsRptReport)"/>.</exception>
    public static TlsRptReportJson ToJson(TlsRptReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        Require(report.OrganizationName, "organization-name");
        Require(report.ReportId, "report-id");
        if (report.DateRange.End < report.DateRange.Start)
        {
            throw new ArgumentException("date-range: end-datetime is before start-datetime", nameof(report));
        }

        return new TlsRptReportJson
        {
            OrganizationName = report.OrganizationName,
            DateRange = new TlsRptReportJson.DateRangeJson
            {
                StartDatetime = FormatDateTime(report.DateRange.Start),
                EndDatetime = FormatDateTime(report.DateRange.End),
            },
            ContactInfo = Blank(report.ContactInfo),
            ReportId = report.ReportId,

            // RFC 8460 §4: policies MUST be an array, even with one policy.
            Policies = report.Policies.Select(ToJson).ToList(),
        };
    }

    /// <summary>The JSON array of some policies of a report, written as <see cref="Serialize(TlsRptReport)"/> writes them.</summary>
    /// <exception cref="ArgumentException">As <see cref="Serialize(TlsRptReport)"/>.</exception>
    public static string SerializePolicies(IEnumerable<TlsRptPolicyResult> policies) =>
        JsonSerializer.Serialize(policies.Select(ToJson).ToList(), WriteOptions);

    /// <summary>Reads a JSON report (UTF-8, optionally with a byte order mark).</summary>
    /// <remarks>The document is read in place: no copy of <paramref name="utf8Json"/> is made.</remarks>
    /// <exception cref="TlsRptReportFormatException">Not JSON, not a report, or past a <see cref="TlsRptLimits"/> ceiling; the message names the field.</exception>
    public static TlsRptReport Parse(ReadOnlyMemory<byte> utf8Json)
    {
        if (utf8Json.Span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            utf8Json = utf8Json[3..];
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json, new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException e)
        {
            throw new TlsRptReportFormatException("report", "not valid JSON: " + e.Message);
        }

        using (document)
        {
            return ReadReport(document.RootElement);
        }
    }

    /// <summary>Reads a JSON report from a copy of <paramref name="utf8Json"/>.</summary>
    /// <exception cref="TlsRptReportFormatException">As <see cref="Parse(ReadOnlyMemory{byte})"/>.</exception>
    public static TlsRptReport Parse(ReadOnlySpan<byte> utf8Json) => Parse(new ReadOnlyMemory<byte>(utf8Json.ToArray()));

    /// <summary>Reads a JSON report (no copy).</summary>
    /// <exception cref="TlsRptReportFormatException">As <see cref="Parse(ReadOnlyMemory{byte})"/>.</exception>
    public static TlsRptReport Parse(byte[] utf8Json) => Parse(new ReadOnlyMemory<byte>(utf8Json));

    /// <summary>Reads a report from its JSON text.</summary>
    /// <exception cref="TlsRptReportFormatException">As <see cref="Parse(ReadOnlyMemory{byte})"/>.</exception>
    public static TlsRptReport Parse(string json) => Parse(System.Text.Encoding.UTF8.GetBytes(json));

    /// <summary>RFC 3339 in UTC: <c>2016-04-01T00:00:00Z</c>, with a fraction only when there is one.</summary>
    public static string FormatDateTime(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        var format = utc.Ticks % TimeSpan.TicksPerSecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'";
        return utc.ToString(format, CultureInfo.InvariantCulture);
    }

    private static TlsRptReportJson.PolicyResultJson ToJson(TlsRptPolicyResult result)
    {
        Require(result.Policy.PolicyType, "policy-type");
        if (result.Summary.TotalSuccessfulSessionCount < 0 || result.Summary.TotalFailureSessionCount < 0)
        {
            throw new ArgumentException("summary: session counts must not be negative", nameof(result));
        }

        return new TlsRptReportJson.PolicyResultJson
        {
            Policy = new TlsRptReportJson.PolicyJson
            {
                PolicyType = result.Policy.PolicyType,

                // Spec note: §4.4 describes policy-string and mx-host as arrays; they are always written as
                // arrays (empty when there is nothing), never as a string or null, so strict readers take them.
                PolicyString = [.. result.Policy.PolicyStrings],
                PolicyDomain = Blank(result.Policy.PolicyDomain),
                MxHost = [.. result.Policy.MxHosts],
            },
            Summary = new TlsRptReportJson.SummaryJson
            {
                TotalSuccessfulSessionCount = result.Summary.TotalSuccessfulSessionCount,
                TotalFailureSessionCount = result.Summary.TotalFailureSessionCount,
            },
            FailureDetails = result.FailureDetails.Select(ToJson).ToList(),
        };
    }

    private static TlsRptReportJson.FailureDetailJson ToJson(TlsRptFailureDetail detail)
    {
        Require(detail.ResultType, "result-type");
        if (detail.FailedSessionCount < 0)
        {
            throw new ArgumentException("failure-details: failed-session-count must not be negative", nameof(detail));
        }

        // RFC 8460 §4.4: fields are strings; an unknown optional one is left out, never written as null.
        return new TlsRptReportJson.FailureDetailJson
        {
            ResultType = detail.ResultType,
            SendingMtaIp = Blank(detail.SendingMtaIp),
            ReceivingMxHostname = Blank(detail.ReceivingMxHostname),
            ReceivingMxHelo = Blank(detail.ReceivingMxHelo),
            ReceivingIp = Blank(detail.ReceivingIp),
            FailedSessionCount = detail.FailedSessionCount,
            AdditionalInformation = Blank(detail.AdditionalInformation),
            FailureReasonCode = Blank(detail.FailureReasonCode),
        };
    }

    private static void Require(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException($"{field} must not be empty");
        }
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static TlsRptReport ReadReport(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new TlsRptReportFormatException("report", $"is a JSON {Kind(root)}, not an object");
        }

        var organization = RequiredString(root, "organization-name", "");
        var reportId = RequiredString(root, "report-id", "");
        var contact = OptionalString(root, "contact-info", "");
        var range = RequiredObject(root, "date-range", "");
        var start = RequiredDateTime(range, "start-datetime", "date-range.");
        var end = RequiredDateTime(range, "end-datetime", "date-range.");
        if (end < start)
        {
            throw new TlsRptReportFormatException("date-range.end-datetime", "is before start-datetime");
        }

        if (!root.TryGetProperty("policies", out var policies) || policies.ValueKind == JsonValueKind.Null)
        {
            throw new TlsRptReportFormatException("policies", "is missing");
        }

        if (policies.ValueKind != JsonValueKind.Array)
        {
            // RFC 8460 §4: policies MUST be an array even with one policy.
            throw new TlsRptReportFormatException("policies", $"is a JSON {Kind(policies)}, not an array");
        }

        if (policies.GetArrayLength() > TlsRptLimits.MaxPolicies)
        {
            throw new TlsRptReportFormatException("policies", $"has {policies.GetArrayLength()} entries; at most {TlsRptLimits.MaxPolicies} are taken");
        }

        var tally = new Tally();
        var results = new List<TlsRptPolicyResult>();
        var index = 0;
        foreach (var element in policies.EnumerateArray())
        {
            results.Add(ReadPolicyResult(element, $"policies[{index++}]", tally));
        }

        return new TlsRptReport(
            organization,
            new TlsRptDateRange(start, end),

            // Spec note: contact-info is required by §4.4, but Stalwart sends null; the report is still useful.
            contact,
            reportId,
            results);
    }

    private static TlsRptPolicyResult ReadPolicyResult(JsonElement element, string path, Tally tally)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new TlsRptReportFormatException(path, $"is a JSON {Kind(element)}, not an object");
        }

        var policy = RequiredObject(element, "policy", path + ".");
        var policyPath = path + ".policy.";
        var type = RequiredString(policy, "policy-type", policyPath, TlsRptLimits.MaxWordLength);
        var domainText = OptionalString(policy, "policy-domain", policyPath);
        if (domainText is null && TlsRptWords.ParsePolicyType(type) is TlsRptPolicyType.Sts or TlsRptPolicyType.Tlsa)
        {
            // Spec note: Postfix's reporter leaves policy-domain out for no-policy-found, so only the policy
            // types that always have a domain (sts: the recipient domain; tlsa: the TLSA base domain) need one.
            throw new TlsRptReportFormatException(policyPath + "policy-domain", $"is missing for policy-type {type}");
        }

        // RFC 8460 §4.4: policy-domain is the domain the policy is about; only a host name is one.
        var domain = domainText is null
            ? null
            : HostNameSyntax.Normalize(domainText) ?? throw new TlsRptReportFormatException(policyPath + "policy-domain", $"'{Shown(domainText)}' is not a host name (letters, digits, hyphens and dots)");

        var summary = RequiredObject(element, "summary", path + ".");
        var summaryPath = path + ".summary.";
        var successful = Count(summary, "total-successful-session-count", summaryPath);

        // Spec note: Google's reports may leave total-failure-session-count out when nothing failed (mail-auth's
        // rpt03 sample); a missing failure count is taken as 0.
        var failed = summary.TryGetProperty("total-failure-session-count", out var f) && f.ValueKind != JsonValueKind.Null
            ? Count(summary, "total-failure-session-count", summaryPath)
            : 0;
        tally.AddSessions(successful, summaryPath + "total-successful-session-count");
        tally.AddSessions(failed, summaryPath + "total-failure-session-count");

        var details = new List<TlsRptFailureDetail>();
        if (element.TryGetProperty("failure-details", out var detailArray) && detailArray.ValueKind != JsonValueKind.Null)
        {
            if (detailArray.ValueKind != JsonValueKind.Array)
            {
                throw new TlsRptReportFormatException(path + ".failure-details", $"is a JSON {Kind(detailArray)}, not an array");
            }

            var i = 0;
            foreach (var detail in detailArray.EnumerateArray())
            {
                var detailPath = $"{path}.failure-details[{i++}]";
                if (++tally.FailureDetails > TlsRptLimits.MaxFailureDetails)
                {
                    throw new TlsRptReportFormatException(detailPath, $"is past the {TlsRptLimits.MaxFailureDetails} failure-details a report may hold");
                }

                details.Add(ReadFailureDetail(detail, detailPath, tally));
            }
        }

        return new TlsRptPolicyResult(
            new TlsRptReportedPolicy(
                type,
                domain,
                StringOrArray(policy, "policy-string", policyPath),
                StringOrArray(policy, "mx-host", policyPath)),
            new TlsRptSummary(successful, failed),
            details);
    }

    private static TlsRptFailureDetail ReadFailureDetail(JsonElement element, string path, Tally tally)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new TlsRptReportFormatException(path, $"is a JSON {Kind(element)}, not an object");
        }

        var prefix = path + ".";
        var resultType = RequiredString(element, "result-type", prefix, TlsRptLimits.MaxWordLength);
        if (tally.ResultTypes.Add(resultType) && tally.ResultTypes.Count > TlsRptLimits.MaxResultTypes)
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
        if (host is not null && tally.MxHosts.Add(host) && tally.MxHosts.Count > TlsRptLimits.MaxMxHosts)
        {
            throw new TlsRptReportFormatException(prefix + "receiving-mx-hostname", $"is past the {TlsRptLimits.MaxMxHosts} distinct MX hosts a report may hold");
        }

        var count = Count(element, "failed-session-count", prefix);
        tally.AddDetail(count, prefix + "failed-session-count");
        return new TlsRptFailureDetail(
            resultType,
            OptionalString(element, "sending-mta-ip", prefix),
            mx,
            OptionalString(element, "receiving-mx-helo", prefix),
            ip,
            count,
            OptionalString(element, "additional-information", prefix),
            OptionalString(element, "failure-reason-code", prefix));
    }

    private static JsonElement RequiredObject(JsonElement parent, string name, string prefix)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            throw new TlsRptReportFormatException(prefix + name, "is missing");
        }

        return value.ValueKind == JsonValueKind.Object
            ? value
            : throw new TlsRptReportFormatException(prefix + name, $"is a JSON {Kind(value)}, not an object");
    }

    private static string RequiredString(JsonElement parent, string name, string prefix, int maxLength = TlsRptLimits.MaxTextLength) =>
        OptionalString(parent, name, prefix, maxLength) ?? throw new TlsRptReportFormatException(prefix + name, "is missing or empty");

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

        var text = Text(value, prefix + name, maxLength);
        return string.IsNullOrWhiteSpace(text) ? null : text.Trim();
    }

    /// <summary>The text of a JSON string that is valid Unicode, short enough and free of control characters.</summary>
    private static string Text(JsonElement value, string field, int maxLength)
    {
        // Length first, from the raw token: a 32 K field is refused before it is decoded.
        if (JsonMarshal.GetRawUtf8Value(value).Length > (maxLength * 6) + 2)
        {
            throw new TlsRptReportFormatException(field, $"is longer than {maxLength} characters");
        }

        string text;
        try
        {
            text = value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // RFC 8259 §8.1 / RFC 7493 §2.1: text is UTF-8 without unpaired surrogates; GetString refuses other bytes.
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

    private static IReadOnlyList<string> StringOrArray(JsonElement parent, string name, string prefix)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        // Spec note: RFC 8460 Appendix B prints mx-host as a string although §4.4 says array; both are read.
        if (value.ValueKind == JsonValueKind.String)
        {
            var one = Text(value, prefix + name, TlsRptLimits.MaxTextLength);
            return string.IsNullOrWhiteSpace(one) ? [] : [one.Trim()];
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new TlsRptReportFormatException(prefix + name, $"is a JSON {Kind(value)}, not an array of strings");
        }

        if (value.GetArrayLength() > TlsRptLimits.MaxStrings)
        {
            throw new TlsRptReportFormatException(prefix + name, $"has {value.GetArrayLength()} entries; at most {TlsRptLimits.MaxStrings} are taken");
        }

        var list = new List<string>();
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw new TlsRptReportFormatException($"{prefix}{name}[{i}]", $"is a JSON {Kind(item)}, not a string");
            }

            list.Add(Text(item, $"{prefix}{name}[{i}]", TlsRptLimits.MaxTextLength));
            i++;
        }

        return list;
    }

    private static long Count(JsonElement parent, string name, string prefix)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            throw new TlsRptReportFormatException(prefix + name, "is missing");
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var count) || count < 0)
        {
            throw new TlsRptReportFormatException(prefix + name, $"'{Shown(System.Text.Encoding.UTF8.GetString(Head(JsonMarshal.GetRawUtf8Value(value))))}' is not a count (a whole number 0 or more)");
        }

        // RFC 7493 §2.2: integers past 2^53 are not exact in JSON; no real report comes near.
        return count <= TlsRptLimits.MaxCount
            ? count
            : throw new TlsRptReportFormatException(prefix + name, $"{count} is more than {TlsRptLimits.MaxCount} (2^53 - 1), the largest count taken");
    }

    private static DateTimeOffset RequiredDateTime(JsonElement parent, string name, string prefix)
    {
        var text = RequiredString(parent, name, prefix, TlsRptLimits.MaxWordLength);

        // RFC 8460 §4.4: date-times are RFC 3339 (with or without fractional seconds, Z or an offset; RFC 3339
        // §5.6 allows lower-case t and z, and a space for T).
        return DateTimeOffset.TryParseExact(text.ToUpperInvariant(), DateTimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value)
            ? value.ToUniversalTime()
            : throw new TlsRptReportFormatException(prefix + name, $"'{text}' is not an RFC 3339 date-time such as 2016-04-01T00:00:00Z");
    }

    private static ReadOnlySpan<byte> Head(ReadOnlySpan<byte> raw) => raw.Length <= 100 ? raw : raw[..100];

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
