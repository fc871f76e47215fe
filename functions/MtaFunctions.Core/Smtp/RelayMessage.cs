using System.Text;
using MimeKit;

namespace MtaFunctions.Core.Smtp;

/// <summary>
/// The message as it is relayed: the producer's bytes with only CRLF line ends made uniform, plus what the
/// SMTP session needs to know about them (8-bit octets, UTF-8 headers, line lengths).
/// </summary>
/// <remarks>
/// Byte-exact relay: what the producer queued is what the MX receives. The only changes are the ones the
/// MTA must make: CRLF line ends and a final CRLF (RFC 5321 §2.3.8), dot-stuffing on the wire (§4.5.2, done
/// by the SMTP client), a Received: field on top (§4.4) and the removal of TLS-Required (RFC 8689 §5).
/// Header fields below are never re-folded or re-encoded, so DKIM signatures still verify.
/// </remarks>
public sealed class RelayMessage
{
    private RelayMessage(byte[] data)
    {
        Data = data;
        HeaderLength = FindHeaderEnd(data);
        var header = data.AsSpan(0, HeaderLength);
        var body = data.AsSpan(HeaderLength);
        EightBitHeaders = header.ContainsAnyInRange((byte)0x80, (byte)0xFF);
        EightBitBody = body.ContainsAnyInRange((byte)0x80, (byte)0xFF);
        LongestLine = Longest(data);
    }

    /// <summary>The message, CRLF line ends, ending in CRLF.</summary>
    public byte[] Data { get; }

    /// <summary>Octets of the header section, up to and including the empty line (or the whole message without one).</summary>
    public int HeaderLength { get; }

    /// <summary>The header section holds octets above 127 (RFC 6532 UTF-8 headers): SMTPUTF8 is needed (RFC 6531 §3.2).</summary>
    public bool EightBitHeaders { get; }

    /// <summary>The body holds octets above 127: BODY=8BITMIME is needed (RFC 6152 §3).</summary>
    public bool EightBitBody { get; }

    /// <summary>The longest line in octets, without its CRLF.</summary>
    public int LongestLine { get; }

    /// <summary>RFC 5321 §4.5.3.1.6: a text line is at most 998 octets plus CRLF.</summary>
    public const int MaxLineLength = 998;

    /// <summary>Takes the queued bytes; bare LF line ends become CRLF and a missing final CRLF is added.</summary>
    public static RelayMessage FromQueued(ReadOnlySpan<byte> queued) => new(NormalizeLineEnds(queued));

    /// <summary>A message built in code, as MimeKit writes it with CRLF line ends.</summary>
    public static RelayMessage From(MimeMessage message)
    {
        using var buffer = new MemoryStream();
        message.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, buffer);
        return FromQueued(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    /// <summary>The same message with <paramref name="field"/> (one complete header field, CRLF-terminated) on top.</summary>
    public RelayMessage Prepend(string field)
    {
        var bytes = Encoding.UTF8.GetBytes(field);
        var data = new byte[bytes.Length + Data.Length];
        bytes.CopyTo(data, 0);
        Data.CopyTo(data, bytes.Length);
        return new RelayMessage(data);
    }

    /// <summary>The unfolded value of the first header field named <paramref name="name"/>, or null.</summary>
    public string? HeaderValue(string name)
    {
        foreach (var (start, length) in Fields())
        {
            if (IsField(start, length, name))
            {
                var text = Encoding.UTF8.GetString(Data, start + name.Length + 1, length - name.Length - 1);
                return text.Replace("\r\n", "", StringComparison.Ordinal).Trim();
            }
        }

        return null;
    }

    /// <summary>The same message without any header field named <paramref name="name"/>; the rest is untouched.</summary>
    public RelayMessage WithoutHeader(string name)
    {
        var keep = new MemoryStream(Data.Length);
        var position = 0;
        foreach (var (start, length) in Fields())
        {
            if (IsField(start, length, name))
            {
                keep.Write(Data, position, start - position);
                position = start + length;
            }
        }

        if (position == 0)
        {
            return this;
        }

        keep.Write(Data, position, Data.Length - position);
        return new RelayMessage(keep.ToArray());
    }

    /// <summary>Parses the message (for the DSN and header checks); the relayed bytes stay <see cref="Data"/>.</summary>
    public MimeMessage Parse() => MimeMessage.Load(new MemoryStream(Data, writable: false));

    // Each header field: its start and its length including the CRLF of its last line (folded lines included).
    private IEnumerable<(int Start, int Length)> Fields()
    {
        var i = 0;
        while (i < HeaderLength)
        {
            var start = i;
            do
            {
                var end = Array.IndexOf(Data, (byte)'\n', i, HeaderLength - i);
                i = end < 0 ? HeaderLength : end + 1;
            }
            while (i < HeaderLength && Data[i] is (byte)' ' or (byte)'\t');

            if (i - start > 2)
            {
                yield return (start, i - start);
            }
        }
    }

    private bool IsField(int start, int length, string name) =>
        length > name.Length && Data[start + name.Length] == (byte)':'
                             && Encoding.ASCII.GetString(Data, start, name.Length).Equals(name, StringComparison.OrdinalIgnoreCase);

    private static int FindHeaderEnd(byte[] data)
    {
        if (data.AsSpan().StartsWith("\r\n"u8))
        {
            return 2;
        }

        var end = data.AsSpan().IndexOf("\r\n\r\n"u8);
        return end < 0 ? data.Length : end + 4;
    }

    private static int Longest(byte[] data)
    {
        var longest = 0;
        var span = data.AsSpan();
        while (span.Length > 0)
        {
            var end = span.IndexOf("\r\n"u8);
            var line = end < 0 ? span.Length : end;
            longest = Math.Max(longest, line);
            span = end < 0 ? [] : span[(end + 2)..];
        }

        return longest;
    }

    private static byte[] NormalizeLineEnds(ReadOnlySpan<byte> input)
    {
        var output = new MemoryStream(input.Length + 64);
        var previous = (byte)0;
        foreach (var b in input)
        {
            if (b == (byte)'\n' && previous != (byte)'\r')
            {
                output.WriteByte((byte)'\r');
            }

            output.WriteByte(b);
            previous = b;
        }

        // RFC 5321 §4.1.1.4: the data ends with CRLF before the terminating dot.
        var length = (int)output.Length;
        var buffer = output.GetBuffer();
        if (length < 2 || buffer[length - 2] != (byte)'\r' || buffer[length - 1] != (byte)'\n')
        {
            output.Write(length > 0 && buffer[length - 1] == (byte)'\r' ? "\n"u8 : "\r\n"u8);
        }

        return output.ToArray();
    }
}
