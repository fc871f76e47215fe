using MimeKit;

namespace MtaFunctions.Core.Smtp;

/// <summary>The one case where the relayed bytes change: an 8-bit body to a server without 8BITMIME.</summary>
/// <remarks>
/// RFC 6152 §3 forbids sending 8-bit data to a server that did not offer 8BITMIME; like Postfix, the
/// message is converted (8-bit parts to quoted-printable or base64) rather than bounced. A DKIM signature
/// over the body does not survive this; the delivery outcome records the conversion.
/// </remarks>
internal static class SevenBitConversion
{
    public static byte[] Convert(RelayMessage message)
    {
        var parsed = message.Parse();
        parsed.Prepare(EncodingConstraint.SevenBit, RelayMessage.MaxLineLength);
        using var buffer = new MemoryStream();
        parsed.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos, EnsureNewLine = true }, buffer);
        return buffer.ToArray();
    }
}
