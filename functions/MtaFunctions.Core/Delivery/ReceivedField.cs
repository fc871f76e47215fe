using System.Globalization;
using MimeKit.Utils;

namespace MtaFunctions.Core.Delivery;

/// <summary>The trace field the MTA adds when it takes a message from the queue.</summary>
/// <remarks>
/// RFC 5321 §4.4: every SMTP server that relays a message adds a Received: line at the top, so receivers can
/// trace its path and detect loops. The producer handed the message over the storage queue (HTTPS), so the
/// <c>with</c> word is <c>HTTPS</c>; the producer's identity is not carried by the queue contract, so there is
/// no <c>from</c> clause (Spec note: §4.4 makes FROM part of the stamp; we write only what we know).
/// The field goes on top and nothing below it changes (a DKIM signature does not cover it).
/// </remarks>
public static class ReceivedField
{
    /// <summary>The complete field with its CRLF, folded before the date.</summary>
    public static string For(string hostname, string messageId, DateTimeOffset now) =>
        string.Create(CultureInfo.InvariantCulture, $"Received: by {hostname} with HTTPS id {messageId};\r\n\t{DateUtils.FormatDate(now)}\r\n");
}
