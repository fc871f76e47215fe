using MailKit.Net.Smtp;
using MailKit.Security;

namespace MtaFunctions.Core.Smtp;

/// <summary>
/// Decides which reply concerns which recipient when a transaction ends in an error reply.
/// </summary>
/// <remarks>
/// RFC 5321 §3.3: a recipient refused at RCPT keeps its RCPT reply. A refused MAIL FROM concerns every
/// recipient. A reply to DATA (§4.1.1.4, anything but 354) or to the end of the data concerns exactly the
/// recipients accepted at RCPT: their RCPT 250 only said "go on". Only a 2xx to the end of data is delivery.
/// </remarks>
internal static class TransactionReplies
{
    /// <summary>Each recipient's final reply after <paramref name="error"/> ended the transaction.</summary>
    /// <param name="recipients">The envelope recipients, in RCPT order.</param>
    /// <param name="rcptReplies">The RCPT replies received, by address (accepted and refused).</param>
    /// <param name="error">The MailKit exception that ended the transaction.</param>
    public static List<RecipientReply> Assign(
        IReadOnlyList<string> recipients, IReadOnlyDictionary<string, RecipientReply> rcptReplies, Exception error)
    {
        var (code, text) = error switch
        {
            SmtpCommandException e => ((int)e.StatusCode, e.Message),

            // MailKit turns a 530 to DATA or to the end of data into this exception (no code kept).
            _ => (530, $"5.7.0 {error.Message}"),
        };
        if (error is SmtpCommandException { ErrorCode: SmtpErrorCode.SenderNotAccepted })
        {
            // MAIL FROM refused: with PIPELINING the RCPTs were answered too (503 "need MAIL"), but the
            // MAIL reply is the one that decides, for every recipient.
            return recipients.Select(r => new RecipientReply(r, code is >= 400 and < 600 ? code : 451, text)).ToList();
        }

        var accepted = rcptReplies.Values.Any(r => r.Code is >= 200 and < 300);
        if (error is SmtpCommandException { ErrorCode: SmtpErrorCode.MessageNotAccepted } && !accepted)
        {
            // Every RCPT was refused (MailKit's "No recipients were accepted"): the RCPT replies say why.
            return recipients.Select(r => rcptReplies.TryGetValue(r, out var reply)
                    ? reply
                    : new RecipientReply(r, 451, "4.3.0 no reply to RCPT TO"))
                .ToList();
        }

        // RFC 5321 §4.2.5: a reply outside 4xx/5xx where an error was expected is a protocol error; retry.
        var shared = code is >= 400 and < 600 ? (code, text) : (451, $"4.5.0 unexpected reply {code} {text}");
        return recipients.Select(r => rcptReplies.TryGetValue(r, out var reply) && reply.Code >= 400
                ? reply
                : new RecipientReply(r, shared.Item1, shared.Item2))
            .ToList();
    }
}
