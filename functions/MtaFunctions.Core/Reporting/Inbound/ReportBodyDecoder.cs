using System.Buffers.Binary;
using System.IO.Compression;

namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>
/// Turns a report body (gzip'd or plain JSON) into the JSON bytes within limits: the compressed body is read
/// whole (it is small), the gzip trailer says how large the JSON will be, a body claiming more than the limit is
/// refused before a byte is inflated, and the JSON is inflated into one buffer of exactly its size once the
/// <see cref="DecodeMemoryBudget"/> grants the memory for it.
/// </summary>
internal static class ReportBodyDecoder
{
    /// <summary>
    /// Memory a report costs while it is read and stored, per byte of JSON: the JSON itself and the parsed
    /// document's index of it (about one more), and what is made of it (a fraction).
    /// </summary>
    public const int BytesPerJsonByte = 3;

    /// <summary>Reads <paramref name="body"/> (at most <paramref name="maxBody"/> bytes) and returns the JSON (at most <paramref name="maxReport"/> bytes) with its share of the budget, to be disposed once the report is stored.</summary>
    /// <exception cref="TlsReportRejectedException">Too large, or gzip that is truncated or corrupt.</exception>
    public static async Task<(byte[] Json, IDisposable Lease)> ReadJsonAsync(
        Stream body, long maxBody, long maxReport, string what, DecodeMemoryBudget budget, CancellationToken cancellationToken)
    {
        var input = new LimitedReadStream(body, maxBody, what);
        var buffer = new MemoryStream();
        await input.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        var bytes = new ArraySegment<byte>(buffer.GetBuffer(), 0, (int)buffer.Length);

        // Spec note: the decision to inflate is taken from the gzip magic bytes (RFC 1952 §2.3.1), not from the
        // media type alone: reporters label plain JSON as +gzip and gzip as json; both are read as what they are.
        if (bytes.Count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B)
        {
            return await InflateAsync(bytes, maxReport, budget, cancellationToken).ConfigureAwait(false);
        }

        if (bytes.Count > maxReport)
        {
            throw new TlsReportRejectedException(TlsReportIntakeStatus.TooLarge, $"report is larger than {maxReport} bytes");
        }

        var lease = await budget.AcquireAsync((long)bytes.Count * BytesPerJsonByte, cancellationToken).ConfigureAwait(false);
        return (bytes.ToArray(), lease);
    }

    private static async Task<(byte[] Json, IDisposable Lease)> InflateAsync(ArraySegment<byte> gzip, long maxReport, DecodeMemoryBudget budget, CancellationToken cancellationToken)
    {
        // RFC 1952 §2.3.1: the trailer is CRC32 and ISIZE (the input size modulo 2^32). A member is at least
        // 18 bytes (10 header, 8 trailer); anything shorter is truncated.
        if (gzip.Count < 18)
        {
            throw new TlsReportRejectedException(TlsReportIntakeStatus.Invalid, "gzip: truncated or corrupt (its CRC32/ISIZE trailer does not match the data)");
        }

        var size = BinaryPrimitives.ReadUInt32LittleEndian(gzip.AsSpan()[^4..]);
        var crcExpected = BinaryPrimitives.ReadUInt32LittleEndian(gzip.AsSpan()[^8..]);
        if (size > maxReport)
        {
            // Either a report past the limit or a trailer that is not one (truncated gzip): inflate into a
            // scratch buffer, keeping nothing, to tell which.
            throw await TooLargeOrCorruptAsync(gzip, maxReport, cancellationToken).ConfigureAwait(false);
        }

        var lease = await budget.AcquireAsync((long)size * BytesPerJsonByte, cancellationToken).ConfigureAwait(false);
        try
        {
            var output = new byte[size];
            var crc = new Crc32();
            var scratch = new byte[4096];
            var total = 0L;
            try
            {
                await using var inflater = new GZipStream(new MemoryStream(gzip.Array!, gzip.Offset, gzip.Count, writable: false), CompressionMode.Decompress);
                while (true)
                {
                    var n = total < size
                        ? await inflater.ReadAsync(output.AsMemory((int)total), cancellationToken).ConfigureAwait(false)
                        : await inflater.ReadAsync(scratch, cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    if (total + n > size)
                    {
                        // More than the trailer says: a bomb whose size wrapped past 2^32, or a lying trailer.
                        throw new TlsReportRejectedException(
                            total + n > maxReport ? TlsReportIntakeStatus.TooLarge : TlsReportIntakeStatus.Invalid,
                            total + n > maxReport ? $"decompressed report is larger than {maxReport} bytes" : "gzip: truncated or corrupt (its CRC32/ISIZE trailer does not match the data)");
                    }

                    crc.Append(output.AsSpan((int)total, n));
                    total += n;
                }
            }
            catch (InvalidDataException e)
            {
                throw new TlsReportRejectedException(TlsReportIntakeStatus.Invalid, "gzip: corrupt data: " + e.Message);
            }

            // GZipStream ends quietly on truncated input; the trailer tells.
            // Spec note: the trailer checked is the last member's, so a multi-member gzip (RFC 1952 §2.2), which no
            // reporter is known to send, is refused as corrupt.
            if (total != size || crc.Value != crcExpected)
            {
                throw new TlsReportRejectedException(TlsReportIntakeStatus.Invalid, "gzip: truncated or corrupt (its CRC32/ISIZE trailer does not match the data)");
            }

            return (output, lease);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    private static async Task<TlsReportRejectedException> TooLargeOrCorruptAsync(ArraySegment<byte> gzip, long maxReport, CancellationToken cancellationToken)
    {
        var scratch = new byte[16384];
        long total = 0;
        try
        {
            await using var inflater = new GZipStream(new MemoryStream(gzip.Array!, gzip.Offset, gzip.Count, writable: false), CompressionMode.Decompress);
            int n;
            while ((n = await inflater.ReadAsync(scratch, cancellationToken).ConfigureAwait(false)) > 0)
            {
                total += n;
                if (total > maxReport)
                {
                    return new TlsReportRejectedException(TlsReportIntakeStatus.TooLarge, $"decompressed report is larger than {maxReport} bytes");
                }
            }
        }
        catch (InvalidDataException e)
        {
            return new TlsReportRejectedException(TlsReportIntakeStatus.Invalid, "gzip: corrupt data: " + e.Message);
        }

        return new TlsReportRejectedException(TlsReportIntakeStatus.Invalid, "gzip: truncated or corrupt (its CRC32/ISIZE trailer does not match the data)");
    }
}
