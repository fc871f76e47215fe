using MailKit.Net.Smtp;
using MimeKit;
using MtaFunctions.Core.Delivery;

namespace MtaFunctions.Core.Smtp;

/// <summary>
/// MailKit's client, keeping each recipient's reply instead of aborting the whole message on the first
/// rejected RCPT: the rest of the recipients are still delivered (partial acceptance).
/// </summary>
internal sealed class RecipientTrackingSmtpClient : SmtpClient
{
    public Dictionary<string, RecipientReply> Replies { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The destination's connection slot this connection holds; freed when the client is disposed, on every path.</summary>
    public DestinationLease? Lease { get; set; }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Lease is { } lease)
        {
            Lease = null;
            _ = lease.DisposeAsync().AsTask();
        }

        base.Dispose(disposing);
    }

    /// <summary>The next transaction needs SMTPUTF8 (MailKit adds it to MAIL FROM when offered).</summary>
    public bool International { get; set; }

    // Byte-exact relay: MailKit's default re-encodes 8-bit parts and folds long lines. The message handed in is
    // a RawMessageEntity that writes the queued bytes, so nothing is prepared here.
    protected override void Prepare(FormatOptions options, MimeMessage message, EncodingConstraint constraint, int maxLineLength) =>
        options.International = International;

    protected override void OnRecipientAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response) =>
        Replies[mailbox.Address] = new RecipientReply(mailbox.Address, (int)response.StatusCode, response.Response);

    protected override void OnRecipientNotAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response) =>
        Replies[mailbox.Address] = new RecipientReply(mailbox.Address, (int)response.StatusCode, response.Response);
}
