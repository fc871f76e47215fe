using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using MimeKit;

namespace MtaFunctions.Core.Delivery;

/// <summary>One failed recipient as a DSN reports it.</summary>
/// <param name="Recipient">The envelope recipient.</param>
/// <param name="Reply">The last SMTP reply or local reason, e.g. "550 5.1.1 No such user".</param>
/// <param name="RemoteMta">The MX host that gave the reply, when one did.</param>
public sealed record FailedRecipient(string Recipient, string Reply, string? RemoteMta);

/// <summary>
/// Builds delivery status notifications (RFC 3464): a <c>multipart/report; report-type=delivery-status</c>
/// with a human part, the machine-readable <c>message/delivery-status</c>, and the original headers.
/// </summary>
public static partial class DsnBuilder
{
    [GeneratedRegex(@"\b([245])\.(\d{1,3})\.(\d{1,3})\b")]
    private static partial Regex EnhancedCode();

    /// <summary>Builds the bounce for <paramref name="failed"/> recipients of <paramref name="original"/>.</summary>
    /// <param name="reportingMta">Our host name (Reporting-MTA).</param>
    /// <param name="envelopeFrom">The original envelope sender: the bounce goes there.</param>
    /// <param name="original">The original message (its headers are returned).</param>
    /// <param name="failed">The failed recipients.</param>
    /// <param name="arrival">When the original was queued.</param>
    /// <param name="now">Now.</param>
    public static MimeMessage Build(
        string reportingMta, string envelopeFrom, MimeMessage original, IReadOnlyList<FailedRecipient> failed,
        DateTimeOffset arrival, DateTimeOffset now)
    {
        var dsn = new MimeMessage();
        dsn.From.Add(new MailboxAddress("Mail Delivery System", $"mailer-daemon@{reportingMta}"));
        dsn.To.Add(new MailboxAddress("", envelopeFrom));
        dsn.Subject = "Undelivered Mail Returned to Sender";
        dsn.Date = now;
        dsn.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId(reportingMta);
        dsn.Headers.Add("Auto-Submitted", "auto-replied");
        if (original.MessageId is { } originalId)
        {
            dsn.InReplyTo = originalId;
            dsn.References.Add(originalId);
        }

        var report = new MultipartReport("delivery-status");
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"This is the mail system at host {reportingMta}.")
            .AppendLine()
            .AppendLine("Your message could not be delivered to one or more recipients.")
            .AppendLine("It has not been sent to the recipients listed below and will not be retried.")
            .AppendLine();
        foreach (var f in failed)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"<{f.Recipient}>: {f.Reply}");
        }

        report.Add(new TextPart("plain") { Text = text.ToString() });

        var status = new MessageDeliveryStatus();
        var perMessage = new HeaderList
        {
            { "Reporting-MTA", $"dns; {reportingMta}" },
            { "Arrival-Date", MimeKit.Utils.DateUtils.FormatDate(arrival) },
        };
        status.StatusGroups.Add(perMessage);
        foreach (var f in failed)
        {
            var group = new HeaderList
            {
                { "Final-Recipient", $"rfc822; {f.Recipient}" },
                { "Action", "failed" },
                { "Status", StatusCode(f.Reply) },
            };
            if (f.RemoteMta is not null)
            {
                group.Add("Remote-MTA", $"dns; {f.RemoteMta}");
            }

            group.Add(f.RemoteMta is not null ? "Diagnostic-Code" : "X-Diagnostic", $"smtp; {f.Reply}");
            group.Add("Last-Attempt-Date", MimeKit.Utils.DateUtils.FormatDate(now));
            status.StatusGroups.Add(group);
        }

        report.Add(status);

        using var headers = new MemoryStream();
        original.Headers.WriteTo(headers);
        report.Add(new MimePart("text", "rfc822-headers") { Content = new MimeContent(new MemoryStream(headers.ToArray())) });
        dsn.Body = report;
        return dsn;
    }

    /// <summary>
    /// The RFC 3463 status of a reply: its enhanced code, else one derived from the basic code. A transient
    /// code stays 4.x.x when the message expired on it (RFC 3464 §2.3.4: the last status seen).
    /// </summary>
    public static string StatusCode(string reply)
    {
        var match = EnhancedCode().Match(reply);
        if (match.Success && match.Groups[1].Value is "4" or "5")
        {
            return match.Value;
        }

        return reply.StartsWith('4') ? "4.0.0" : "5.0.0";
    }
}
