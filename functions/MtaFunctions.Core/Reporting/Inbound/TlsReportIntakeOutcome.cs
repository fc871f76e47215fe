namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>What became of a report handed to <see cref="TlsReportIntake"/>.</summary>
public enum TlsReportIntakeStatus
{
    /// <summary>New report, stored.</summary>
    Stored,

    /// <summary>The same organisation and report-id were stored before; nothing was written.</summary>
    Duplicate,

    /// <summary>The endpoint needs a key in its URL, and it was missing or wrong.</summary>
    KeyRequired,

    /// <summary>The media type is not one a report travels in.</summary>
    UnsupportedMediaType,

    /// <summary>The body, the decompressed report or the message is larger than allowed.</summary>
    TooLarge,

    /// <summary>Not a report: bad gzip, bad JSON, a field breaking RFC 8460, a mail without a report part.</summary>
    Invalid,

    /// <summary>The report is about a policy domain that is not ours.</summary>
    ForeignDomain,
}

/// <summary>The outcome of one report, with a message naming the problem when it was refused.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Message">One line for the reporter: what was stored, or what is wrong.</param>
/// <param name="OrganizationName">organization-name, when the report could be read.</param>
/// <param name="ReportId">report-id, when the report could be read.</param>
/// <param name="PolicyDomains">The policy domains it was stored under.</param>
public sealed record TlsReportIntakeOutcome(
    TlsReportIntakeStatus Status,
    string Message,
    string? OrganizationName = null,
    string? ReportId = null,
    IReadOnlyList<string>? PolicyDomains = null)
{
    /// <summary>True for <see cref="TlsReportIntakeStatus.Stored"/> and <see cref="TlsReportIntakeStatus.Duplicate"/>: the reporter is done.</summary>
    public bool Accepted => Status is TlsReportIntakeStatus.Stored or TlsReportIntakeStatus.Duplicate;
}

/// <summary>Stops reading a report: carries the outcome up from inside stream reading.</summary>
internal sealed class TlsReportRejectedException(TlsReportIntakeStatus status, string message) : Exception(message)
{
    public TlsReportIntakeStatus Status { get; } = status;
}
