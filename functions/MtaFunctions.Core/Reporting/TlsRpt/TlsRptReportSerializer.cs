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
    private static readonly JsonSerializerOptions WriteOptions = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
    };

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
        using var stream = MemoryMarshal.TryGetArray(utf8Json, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(utf8Json.ToArray(), writable: false);
        return Read(stream, keepAllText: true);
    }

    /// <summary>Reads a JSON report from a stream as it arrives, holding one small value of it at a time.</summary>
    /// <param name="utf8Json">UTF-8 JSON, optionally with a byte order mark; read once to its end.</param>
    /// <param name="keepAllText">
    /// False to check but drop the texts only a small report's stored copy shows (policy strings, MX patterns,
    /// the sending IP, HELO, additional information and reason code of failure details).
    /// </param>
    /// <exception cref="TlsRptReportFormatException">As <see cref="Parse(ReadOnlyMemory{byte})"/>.</exception>
    public static TlsRptReport Read(Stream utf8Json, bool keepAllText) => TlsRptReportReader.Read(utf8Json, keepAllText);

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
}
