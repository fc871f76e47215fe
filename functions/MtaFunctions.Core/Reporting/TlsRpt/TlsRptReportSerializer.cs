using System.Globalization;
using System.IO.Compression;
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

    /// <summary>Reads a JSON report (UTF-8, optionally with a byte order mark).</summary>
    /// <exception cref="TlsRptReportFormatException">Not JSON, or not a report; the message names the field.</exception>
    public static TlsRptReport Parse(ReadOnlySpan<byte> utf8Json)
    {
        if (utf8Json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            utf8Json = utf8Json[3..];
        }

        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = MaxDepth });
        JsonDocument document;
        try
        {
            document = JsonDocument.ParseValue(ref reader);
            if (reader.Read())
            {
                throw new TlsRptReportFormatException("report", $"text after the JSON value at byte {reader.TokenStartIndex}");
            }
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

    /// <summary>Reads a report from its JSON text.</summary>
    /// <exception cref="TlsRptReportFormatException">Not JSON, or not a report; the message names the field.</exception>
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

        var results = new List<TlsRptPolicyResult>();
        var index = 0;
        foreach (var element in policies.EnumerateArray())
        {
            results.Add(ReadPolicyResult(element, $"policies[{index++}]"));
        }

        return new TlsRptReport(
            RequiredString(root, "organization-name", ""),
            new TlsRptDateRange(start, end),

            // Spec note: contact-info is required by §4.4, but Stalwart sends null; the report is still useful.
            OptionalString(root, "contact-info", ""),
            RequiredString(root, "report-id", ""),
            results);
    }

    private static TlsRptPolicyResult ReadPolicyResult(JsonElement element, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new TlsRptReportFormatException(path, $"is a JSON {Kind(element)}, not an object");
        }

        var policy = RequiredObject(element, "policy", path + ".");
        var policyPath = path + ".policy.";
        var type = RequiredString(policy, "policy-type", policyPath);
        var domain = OptionalString(policy, "policy-domain", policyPath);
        if (domain is null && TlsRptWords.ParsePolicyType(type) is TlsRptPolicyType.Sts or TlsRptPolicyType.Tlsa)
        {
            // Spec note: Postfix's reporter leaves policy-domain out for no-policy-found, so only the policy
            // types that always have a domain (sts: the recipient domain; tlsa: the TLSA base domain) need one.
            throw new TlsRptReportFormatException(policyPath + "policy-domain", $"is missing for policy-type {type}");
        }

        var summary = RequiredObject(element, "summary", path + ".");
        var summaryPath = path + ".summary.";
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
                details.Add(ReadFailureDetail(detail, $"{path}.failure-details[{i++}]"));
            }
        }

        return new TlsRptPolicyResult(
            new TlsRptReportedPolicy(
                type,
                domain?.TrimEnd('.').ToLowerInvariant(),
                StringOrArray(policy, "policy-string", policyPath),
                StringOrArray(policy, "mx-host", policyPath)),
            new TlsRptSummary(
                Count(summary, "total-successful-session-count", summaryPath),
                Count(summary, "total-failure-session-count", summaryPath)),
            details);
    }

    private static TlsRptFailureDetail ReadFailureDetail(JsonElement element, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new TlsRptReportFormatException(path, $"is a JSON {Kind(element)}, not an object");
        }

        var prefix = path + ".";
        return new TlsRptFailureDetail(
            RequiredString(element, "result-type", prefix),
            OptionalString(element, "sending-mta-ip", prefix),
            OptionalString(element, "receiving-mx-hostname", prefix),
            OptionalString(element, "receiving-mx-helo", prefix),
            OptionalString(element, "receiving-ip", prefix),
            Count(element, "failed-session-count", prefix),
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

    private static string RequiredString(JsonElement parent, string name, string prefix) =>
        OptionalString(parent, name, prefix) ?? throw new TlsRptReportFormatException(prefix + name, "is missing or empty");

    private static string? OptionalString(JsonElement parent, string name, string prefix)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw new TlsRptReportFormatException(prefix + name, $"is a JSON {Kind(value)}, not a string");
        }

        var text = value.GetString();
        return string.IsNullOrWhiteSpace(text) ? null : text.Trim();
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
            return string.IsNullOrWhiteSpace(value.GetString()) ? [] : [value.GetString()!.Trim()];
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new TlsRptReportFormatException(prefix + name, $"is a JSON {Kind(value)}, not an array of strings");
        }

        var list = new List<string>();
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw new TlsRptReportFormatException($"{prefix}{name}[{i}]", $"is a JSON {Kind(item)}, not a string");
            }

            list.Add(item.GetString()!);
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
            throw new TlsRptReportFormatException(prefix + name, $"'{value.GetRawText()}' is not a count (a whole number 0 or more)");
        }

        return count;
    }

    private static DateTimeOffset RequiredDateTime(JsonElement parent, string name, string prefix)
    {
        var text = RequiredString(parent, name, prefix);

        // RFC 8460 §4.4: date-times are RFC 3339 (with or without fractional seconds, Z or an offset; RFC 3339
        // §5.6 allows lower-case t and z, and a space for T).
        return DateTimeOffset.TryParseExact(text.ToUpperInvariant(), DateTimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value)
            ? value.ToUniversalTime()
            : throw new TlsRptReportFormatException(prefix + name, $"'{text}' is not an RFC 3339 date-time such as 2016-04-01T00:00:00Z");
    }

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => "null",
    };
}
