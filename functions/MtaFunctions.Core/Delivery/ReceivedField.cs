using System.Globalization;
using MimeKit.Utils;

namespace MtaFunctions.Core.Delivery;

/// <summary>The trace field the MTA adds when it takes a message from the queue.</summary>
/// <remarks>
/// RFC 5321 §4.4: every SMTP server that relays a message adds a Received: line at the top, so receivers can
/// trace its path and detect loops. The producer handed the message over the storage queue (HTTPS), so the
/// <c>with</c> word is <c>HTTPS</c>. The <c>from</c> clause names the producer by the host name its envelope
/// declares (<c>submitter</c>, set by the client library); the queue gives no peer address to add as TCP-info,
/// and without a declared name there is no <c>from</c> clause (we write only what we know).
/// The field goes on top and nothing below it changes (a DKIM signature does not cover it).
/// </remarks>
public static class ReceivedField
{
    /// <summary>The complete field with its CRLF, folded before the date.</summary>
    /// <param name="hostname">This MTA's name (<c>by</c>).</param>
    /// <param name="messageId">The queue message id (<c>id</c>).</param>
    /// <param name="now">The date.</param>
    /// <param name="submitter">The producer's declared host name (<c>from</c>), already checked as a domain; null: no clause.</param>
    public static string For(string hostname, string messageId, DateTimeOffset now, string? submitter = null) =>
        string.Create(CultureInfo.InvariantCulture,
            $"Received: {(submitter is null ? "" : $"from {submitter} ")}by {hostname} with HTTPS id {messageId};\r\n\t{DateUtils.FormatDate(now)}\r\n");
}
