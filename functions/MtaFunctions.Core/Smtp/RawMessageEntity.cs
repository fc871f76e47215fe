using MimeKit;
using MimeKit.IO;

namespace MtaFunctions.Core.Smtp;

/// <summary>
/// Hands MailKit's <c>SmtpClient</c> the queued bytes to send as they are, through a message that has no
/// headers of its own and a body that writes the bytes.
/// </summary>
/// <remarks>
/// MailKit prepares a <see cref="MimeMessage"/> before sending (re-encoding 8-bit parts, folding long lines)
/// unless its <c>Prepare</c> hook is overridden, and writes the message through <c>WriteTo</c>. This body
/// writes <see cref="RelayMessage.Data"/> unchanged (the DATA filter still dot-stuffs it); its one empty
/// 8-bit child part is never written and only tells MailKit to send <c>BODY=8BITMIME</c> (RFC 6152 §2).
/// </remarks>
internal sealed class RawMessageEntity : Multipart
{
    private readonly byte[] _data;

    private RawMessageEntity(byte[] data, bool eightBit)
    {
        _data = data;
        Headers.Clear();
        if (eightBit)
        {
            Add(new MimePart { ContentTransferEncoding = ContentEncoding.EightBit });
        }
    }

    /// <summary>True once the bytes were written to the server (not just measured for SIZE).</summary>
    public bool Sent { get; private set; }

    /// <summary>A message MailKit writes as exactly <paramref name="data"/>.</summary>
    /// <param name="data">The message, CRLF line ends, starting with a header field.</param>
    /// <param name="headerLength">Octets of the header section including the empty line that ends it.</param>
    /// <param name="eightBit">Whether MailKit should send BODY=8BITMIME.</param>
    /// <param name="body">The entity that writes the body, to ask whether it was sent.</param>
    public static MimeMessage Wrap(byte[] data, int headerLength, bool eightBit, out RawMessageEntity body)
    {
        // MimeKit writes a message as its header fields, the empty line, then the body entity. The whole header
        // section travels as the raw value of one field named like the first field (raw values are written as
        // given); MimeKit's empty line is the message's own; the entity writes the body bytes.
        var colon = Array.IndexOf(data, (byte)':');
        var separator = headerLength >= 4 && data.AsSpan(headerLength - 4, 4).SequenceEqual("\r\n\r\n"u8);
        var headerEnd = separator ? headerLength - 2 : data.Length;
        if (colon <= 0 || colon >= headerEnd)
        {
            throw new ArgumentException("the message does not start with a header field", nameof(data));
        }

        var message = new MimeMessage();
        message.Headers.Clear();
        var field = new Header(System.Text.Encoding.ASCII.GetString(data, 0, colon), "x");
        field.SetRawValue(data[(colon + 1)..headerEnd]);
        message.Headers.Add(field);
        body = new RawMessageEntity(separator ? data[headerLength..] : [], eightBit);
        message.Body = body;
        return message;
    }

    public override void WriteTo(FormatOptions options, Stream stream, bool contentOnly, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        stream.Write(_data, 0, _data.Length);
        Sent |= stream is not MeasuringStream;
    }

    public override async Task WriteToAsync(FormatOptions options, Stream stream, bool contentOnly, CancellationToken cancellationToken = default)
    {
        await stream.WriteAsync(_data, cancellationToken).ConfigureAwait(false);
        Sent |= stream is not MeasuringStream;
    }
}
