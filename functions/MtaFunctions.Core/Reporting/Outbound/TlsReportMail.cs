using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MimeKit;
using MimeKit.Cryptography;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Reporting.Outbound;

/// <summary>The email form of a TLS report (RFC 8460 §5.3), DKIM-signed (§3).</summary>
public static class TlsReportMail
{
    /// <summary>RFC 8460 §5.3 header naming the policy domain.</summary>
    public const string ReportDomainHeader = "TLS-Report-Domain";

    /// <summary>RFC 8460 §5.3 header naming the submitter (the domain of contact-info).</summary>
    public const string ReportSubmitterHeader = "TLS-Report-Submitter";

    /// <summary>RFC 8689 header asking our own delivery not to enforce TLS policies.</summary>
    public const string TlsRequiredHeader = "TLS-Required";

    private static readonly string[] SignedHeaders =
    [
        "From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", ReportDomainHeader, ReportSubmitterHeader,
    ];

    /// <summary>
    /// The report message: <c>multipart/report; report-type="tlsrpt"</c> with a text part and the gzip'd report as
    /// <c>application/tlsrpt+gzip</c>, signed with every signer, then marked <c>TLS-Required: No</c>.
    /// </summary>
    /// <param name="settings">From, submitter.</param>
    /// <param name="signers">DKIM signers (RFC 8460 §3: MUST sign; no <c>l=</c>).</param>
    /// <param name="report">The report.</param>
    /// <param name="policyDomain">The domain reported on.</param>
    /// <param name="recipient">The mailto: address.</param>
    /// <param name="gzip">The gzip'd JSON.</param>
    /// <param name="fileName">The §5.1 file name.</param>
    /// <param name="now">Date header.</param>
    public static MimeMessage Create(
        TlsReportSettings settings,
        IReadOnlyList<DkimSigner> signers,
        TlsRptReport report,
        string policyDomain,
        string recipient,
        byte[] gzip,
        string fileName,
        DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(signers);
        ArgumentNullException.ThrowIfNull(report);
        var message = new MimeMessage
        {
            Date = now,
            // The same report to the same address always has the same Message-ID, so that a copy sent again
            // after a crash between queueing and recording it can be recognised (as its report-id can).
            MessageId = $"tlsrpt.{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(report.ReportId + "\n" + recipient)))[..32]}@{settings.Submitter}",

            // RFC 8460 §5.3: Subject SHOULD be "Report Domain: <d> Submitter: <s> Report-ID: <id>".
            Subject = $"Report Domain: {policyDomain} Submitter: {settings.Submitter} Report-ID: <{report.ReportId}>",
        };
        message.From.Add(new MailboxAddress(settings.FromName, settings.FromAddress));
        message.To.Add(MailboxAddress.Parse(recipient));

        // RFC 8460 §5.3: TLS-Report-Domain and TLS-Report-Submitter MUST be present.
        message.Headers.Add(ReportDomainHeader, policyDomain);
        message.Headers.Add(ReportSubmitterHeader, settings.Submitter);

        var text = new TextPart("plain")
        {
            Text = string.Create(
                CultureInfo.InvariantCulture,
                $"This is an aggregate TLS report (RFC 8460) from {report.OrganizationName} for {policyDomain},\r\n" +
                $"covering {TlsRptReportSerializer.FormatDateTime(report.DateRange.Start)} to {TlsRptReportSerializer.FormatDateTime(report.DateRange.End)}:\r\n" +
                $"{report.TotalSuccessfulSessions} successful and {report.TotalFailureSessions} failed sessions.\r\n"),
        };
        var attachment = new MimePart("application", "tlsrpt+gzip")
        {
            Content = new MimeContent(new MemoryStream(gzip)),
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
            ContentTransferEncoding = ContentEncoding.Base64,
            FileName = fileName,
        };

        // RFC 8460 §5.3: multipart/report with report-type "tlsrpt".
        var body = new MultipartReport(TlsRptMediaTypes.ReportType) { text, attachment };
        message.Body = body;

        // Freeze the transfer encodings first, so the bytes signed are the bytes sent.
        message.Prepare(EncodingConstraint.SevenBit);
        foreach (var signer in signers)
        {
            // RFC 8460 §3: DKIM-signed, TLS-Report-* headers included; MimeKit never writes l=.
            signer.Sign(message, SignedHeaders);
        }

        // RFC 8460 §3: report mail is delivered despite TLS policy failures; RFC 8689 says so to our delivery,
        // which removes the header before relaying (so it is not signed).
        message.Headers.Add(TlsRequiredHeader, "No");
        return message;
    }

    /// <summary>The message as bytes.</summary>
    public static byte[] ToBytes(MimeMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var stream = new MemoryStream();
        message.WriteTo(FormatOptions.Default, stream);
        return stream.ToArray();
    }
}
