using MimeKit;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>Finds the report in a mailed TLS report (RFC 8460 §5.3).</summary>
/// <remarks>
/// RFC 8460 §5.3: the message is <c>multipart/report; report-type="tlsrpt"</c> with the report as an
/// <c>application/tlsrpt+gzip</c> or <c>application/tlsrpt+json</c> part, and carries <c>TLS-Report-Domain</c>.
/// </remarks>
internal static class TlsRptMailReader
{
    private static readonly string[] ReportMediaTypes =
    [
        TlsRptMediaTypes.Gzip, TlsRptMediaTypes.Json, TlsRptMediaTypes.PlainGzip, TlsRptMediaTypes.PlainJson,
        "application/tlsrpt", "application/x-gzip",
    ];

    /// <summary>The report part of a mailed report, and its TLS-Report-Domain header.</summary>
    /// <exception cref="TlsReportRejectedException">The message is not a TLS report, or has no report part.</exception>
    public static async Task<(MimePart Part, string? ReportDomain)> ReadAsync(Stream message, CancellationToken cancellationToken)
    {
        MimeMessage mail;
        try
        {
            mail = await MimeMessage.LoadAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (FormatException e)
        {
            throw new TlsReportRejectedException(TlsReportIntakeStatus.Invalid, "message: not an RFC 5322 message: " + e.Message);
        }

        var type = mail.Body?.ContentType;
        var isReport = type is not null && type.IsMimeType("multipart", "report")
            && string.Equals(type.Parameters["report-type"], TlsRptMediaTypes.ReportType, StringComparison.OrdinalIgnoreCase);

        // Spec note: §5.3 asks for multipart/report; a multipart/mixed holding an application/tlsrpt+* part is
        // taken too, because the part's media type alone says what it is.
        var part = mail.BodyParts.OfType<MimePart>().FirstOrDefault(p => IsReportPart(p, isReport))
            ?? throw new TlsReportRejectedException(
                TlsReportIntakeStatus.Invalid,
                isReport
                    ? "message: multipart/report has no application/tlsrpt+gzip or application/tlsrpt+json part"
                    : $"message: is {type?.MimeType ?? "empty"}, not multipart/report; report-type=tlsrpt, and has no application/tlsrpt+* part");
        return (part, mail.Headers["TLS-Report-Domain"]?.Trim());
    }

    private static bool IsReportPart(MimePart part, bool inReport)
    {
        var mediaType = part.ContentType.MimeType.ToLowerInvariant();
        if (mediaType.StartsWith("application/tlsrpt", StringComparison.Ordinal))
        {
            return true;
        }

        // Generic types count only inside a tlsrpt report, or with a §5.1 report filename.
        var name = part.FileName ?? "";
        return (inReport && ReportMediaTypes.Contains(mediaType))
            || (mediaType is "application/octet-stream" or TlsRptMediaTypes.PlainGzip or TlsRptMediaTypes.PlainJson
                && (name.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".json.gz", StringComparison.OrdinalIgnoreCase)));
    }
}
