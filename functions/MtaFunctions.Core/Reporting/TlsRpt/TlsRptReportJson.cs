using System.Text.Json.Serialization;

namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>The wire shape of a report (RFC 8460 §4.4), with the RFC's hyphenated names; only the serializer uses it.</summary>
/// <remarks>
/// Null optional members are left out by <see cref="TlsRptReportSerializer"/>; lists are always written, even
/// when empty (RFC 8460 §4: <c>policies</c> MUST be an array).
/// </remarks>
public sealed class TlsRptReportJson
{
    [JsonPropertyName("organization-name")]
    public required string OrganizationName { get; init; }

    [JsonPropertyName("date-range")]
    public required DateRangeJson DateRange { get; init; }

    [JsonPropertyName("contact-info")]
    public string? ContactInfo { get; init; }

    [JsonPropertyName("report-id")]
    public required string ReportId { get; init; }

    [JsonPropertyName("policies")]
    public required IReadOnlyList<PolicyResultJson> Policies { get; init; }

    /// <summary>date-range.</summary>
    public sealed class DateRangeJson
    {
        [JsonPropertyName("start-datetime")]
        public required string StartDatetime { get; init; }

        [JsonPropertyName("end-datetime")]
        public required string EndDatetime { get; init; }
    }

    /// <summary>One element of policies.</summary>
    public sealed class PolicyResultJson
    {
        [JsonPropertyName("policy")]
        public required PolicyJson Policy { get; init; }

        [JsonPropertyName("summary")]
        public required SummaryJson Summary { get; init; }

        [JsonPropertyName("failure-details")]
        public required IReadOnlyList<FailureDetailJson> FailureDetails { get; init; }
    }

    /// <summary>policy.</summary>
    public sealed class PolicyJson
    {
        [JsonPropertyName("policy-type")]
        public required string PolicyType { get; init; }

        [JsonPropertyName("policy-string")]
        public required IReadOnlyList<string> PolicyString { get; init; }

        [JsonPropertyName("policy-domain")]
        public string? PolicyDomain { get; init; }

        [JsonPropertyName("mx-host")]
        public required IReadOnlyList<string> MxHost { get; init; }
    }

    /// <summary>summary.</summary>
    public sealed class SummaryJson
    {
        [JsonPropertyName("total-successful-session-count")]
        public required long TotalSuccessfulSessionCount { get; init; }

        [JsonPropertyName("total-failure-session-count")]
        public required long TotalFailureSessionCount { get; init; }
    }

    /// <summary>One element of failure-details.</summary>
    public sealed class FailureDetailJson
    {
        [JsonPropertyName("result-type")]
        public required string ResultType { get; init; }

        [JsonPropertyName("sending-mta-ip")]
        public string? SendingMtaIp { get; init; }

        [JsonPropertyName("receiving-mx-hostname")]
        public string? ReceivingMxHostname { get; init; }

        [JsonPropertyName("receiving-mx-helo")]
        public string? ReceivingMxHelo { get; init; }

        [JsonPropertyName("receiving-ip")]
        public string? ReceivingIp { get; init; }

        [JsonPropertyName("failed-session-count")]
        public required long FailedSessionCount { get; init; }

        [JsonPropertyName("additional-information")]
        public string? AdditionalInformation { get; init; }

        [JsonPropertyName("failure-reason-code")]
        public string? FailureReasonCode { get; init; }
    }
}
