using System.Buffers.Binary;
using System.IO.Compression;

namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>
/// Turns a report body (gzip'd or plain JSON) into the JSON bytes, streaming and within limits, so that a gzip
/// bomb is refused once its output passes the limit instead of being inflated whole.
/// </summary>
internal static class ReportBodyDecoder
{
    /// <summary>Reads <paramref name="body"/> (at most <paramref name="maxBody"/> bytes) and returns the JSON (at most <paramref name="maxReport"/> bytes).</summary>
    /// <exception cref="TlsReportRejectedException">Too large, or gzip that is truncated or corrupt.</exception>
    public static async Task<byte[]> ReadJsonAsync(Stream body, long maxBody, long maxReport, string what, CancellationToken cancellationToken)
    {
        var input = new LimitedReadStream(body, maxBody, what);
        var head = new byte[2];
        var got = await ReadAtLeastAsync(input, head, cancellationToken).ConfigureAwait(false);
        var prefixed = new PrefixedStream(head.AsMemory(0, got), input);

        // Spec note: the decision to inflate is taken from the gzip magic bytes (RFC 1952 §2.3.1), not from the
        // media type alone: reporters label plain JSON as +gzip and gzip as json; both are read as what they are.
        if (got == 2 && head[0] == 0x1F && head[1] == 0x8B)
        {
            return await InflateAsync(prefixed, input, maxReport, cancellationToken).ConfigureAwait(false);
        }

        var output = new MemoryStream();
        var limited = new LimitedReadStream(prefixed, Math.Min(maxBody, maxReport), "report");
        await limited.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
        return output.ToArray();
    }

    private static async Task<byte[]> InflateAsync(Stream prefixed, LimitedReadStream input, long maxReport, CancellationToken cancellationToken)
    {
        var output = new MemoryStream();
        var crc = new Crc32();
        var buffer = new byte[81920];
        try
        {
            await using var gzip = new GZipStream(prefixed, CompressionMode.Decompress, leaveOpen: true);
            int n;
            while ((n = await gzip.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (output.Length + n > maxReport)
                {
                    throw new TlsReportRejectedException(TlsReportIntakeStatus.TooLarge, $"decompressed report is larger than {maxReport} bytes");
                }

                crc.Append(buffer.AsSpan(0, n));
                output.Write(buffer, 0, n);
            }

            // The inflater may stop before the trailer has been read; read what is left so the tail is the trailer.
            while (await prefixed.ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (InvalidDataException e)
        {
            throw new TlsReportRejectedException(TlsReportIntakeStatus.Invalid, "gzip: corrupt data: " + e.Message);
        }

        // GZipStream ends quietly on truncated input; RFC 1952 §2.3.1's trailer (CRC32, ISIZE) tells.
        // Spec note: the trailer checked is the last member's, so a multi-member gzip (RFC 1952 §2.2), which no
        // reporter is known to send, is refused as corrupt.
        var tail = input.Tail;
        if (tail.Length < 8
            || BinaryPrimitives.ReadUInt32LittleEndian(tail[4..]) != (uint)output.Length
            || BinaryPrimitives.ReadUInt32LittleEndian(tail) != crc.Value)
        {
            throw new TlsReportRejectedException(TlsReportIntakeStatus.Invalid, "gzip: truncated or corrupt (its CRC32/ISIZE trailer does not match the data)");
        }

        return output.ToArray();
    }

    private static async Task<int> ReadAtLeastAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    /// <summary>A few already-read bytes followed by the rest of a stream.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_prefix.IsEmpty)
            {
                return rest.Read(buffer);
            }

            var n = Math.Min(buffer.Length, _prefix.Length);
            _prefix.Span[..n].CopyTo(buffer);
            _prefix = _prefix[n..];
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_prefix.IsEmpty)
            {
                return rest.ReadAsync(buffer, cancellationToken);
            }

            var n = Math.Min(buffer.Length, _prefix.Length);
            _prefix.Span[..n].CopyTo(buffer.Span);
            _prefix = _prefix[n..];
            return ValueTask.FromResult(n);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
