namespace MtaFunctions.Client.Contract;

/// <summary>The line-length rule for queued messages.</summary>
public static class MessageLines
{
    /// <summary>RFC 5321 §4.5.3.1.6: at most 998 octets per line, CRLF not counted.</summary>
    public const int MaxLength = 998;

    /// <summary>
    /// Refuses a message with a line longer than <see cref="MaxLength"/>: the MTA relays bytes unchanged, so such
    /// a line could only be folded in flight (breaking DKIM and changing the text) or refused by the receiver.
    /// </summary>
    /// <exception cref="EnvelopeFormatException">A line is too long; the message names the line and its length.</exception>
    public static void CheckLength(ReadOnlySpan<byte> message)
    {
        var line = 1;
        while (message.Length > 0)
        {
            var end = message.IndexOf((byte)'\n');
            var text = end < 0 ? message : message[..end];
            var length = text.Length > 0 && text[^1] == (byte)'\r' ? text.Length - 1 : text.Length;
            if (length > MaxLength)
            {
                throw new EnvelopeFormatException(
                    "message", $"line {line} is {length} octets; at most {MaxLength} are allowed (RFC 5321 §4.5.3.1.6): encode that part as quoted-printable or base64");
            }

            message = end < 0 ? [] : message[(end + 1)..];
            line++;
        }
    }
}
