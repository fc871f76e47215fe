using System.Buffers.Binary;
using System.IO.Compression;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>
/// Turns a report body (gzip'd or plain JSON) into the report, within limits and without holding the JSON: the
/// compressed body is read whole (it is small), the gzip trailer says how large the JSON will be, a body claiming
/// more than the limit is refused before a byte is inflated, and once the <see cref="DecodeMemoryBudget"/> grants
/// the memory the JSON is inflated and read as it comes out (<see cref="TlsRptReportSerializer.Read"/>), its
/// trailer and SHA-256 checked on the way. Only a small JSON is kept; a large one is inflated again when stored.
/// </summary>
internal static class ReportBodyDecoder
{
    /// <summary>
    /// Memory one report costs while it is read, besides its body: the inflater's window and buffers, the JSON
    /// reader's buffer (at most <see cref="JsonStreamCursor.MaxValueBytes"/>) and the figures kept (bounded by
    /// <see cref="TlsRptLimits"/>).
    /// </summary>
    public const int WorkingBytes = 512 * 1024;

    /// <summary>Bytes of a large report's JSON buffered at a time while it is written to its blob.</summary>
    public const int UploadChunkBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Reads <paramref name="body"/> (at most <paramref name="maxBody"/> bytes) and the report in it (at most
    /// <paramref name="maxReport"/> bytes of JSON); dispose the result once the report is stored.
    /// </summary>
    /// <exception cref="TlsReportRejectedException">Too large, gzip that is truncated or corrupt, or not a report (the message names the field).</exception>
    public static async Task<DecodedReport> ReadAsync(
        Stream body, long maxBody, long maxReport, string what, DecodeMemoryBudget budget, CancellationToken cancellationToken)
    {
        var input = new LimitedReadStream(body, maxBody, what);
        var buffer = new MemoryStream();
        await input.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        var bytes = new ArraySegment<byte>(buffer.GetBuffer(), 0, (int)buffer.Length);

        // Spec note: the decision to inflate is taken from the gzip magic bytes (RFC 1952 §2.3.1), not from the
        // media type alone: reporters label plain JSON as +gzip and gzip as json; both are read as what they are.
        var gzip = bytes.Count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B;
        long size = bytes.Count;
        uint? crc = null;
        if (gzip)
        {
            // RFC 1952 §2.3.1: the trailer is CRC32 and ISIZE (the input size modulo 2^32). A member is at least
            // 18 bytes (10 header, 8 trailer); anything shorter is truncated.
            if (bytes.Count < 18)
            {
                throw new TlsReportRejectedException(TlsReportIntakeStatus.Invalid, "gzip: truncated or corrupt (its CRC32/ISIZE trailer does not match the data)");
            }

            size = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan()[^4..]);
            crc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan()[^8..]);
            if (size > maxReport)
            {
                // Either a report past the limit or a trailer that is not one (truncated gzip): inflate into a
                // scratch buffer, keeping nothing, to tell which.
                throw await TooLargeOrCorruptAsync(bytes, maxReport, cancellationToken).ConfigureAwait(false);
            }
        }
        else if (bytes.Count > maxReport)
        {
            throw new TlsReportRejectedException(TlsReportIntakeStatus.TooLarge, $"report is larger than {maxReport} bytes");
        }

        var held = size <= ReceivedReportJson.MaxHeldBytes;
        var cost = bytes.Count + WorkingBytes + (held ? size : UploadChunkBytes);
        var lease = await budget.AcquireAsync(cost, cancellationToken).ConfigureAwait(false);
        try
        {
            Stream Open() => gzip
                ? new GZipStream(new MemoryStream(bytes.Array!, bytes.Offset, bytes.Count, writable: false), CompressionMode.Decompress)
                : new MemoryStream(bytes.Array!, bytes.Offset, bytes.Count, writable: false);

            using var json = new ReportJsonStream(Open(), size, crc, maxReport, held);
            TlsRptReport report;
            try
            {
                report = TlsRptReportSerializer.Read(json, keepAllText: held);
            }
            catch (TlsRptReportFormatException e)
            {
                // A broken gzip stream says so before the JSON it broke is blamed.
                json.Drain();
                throw new TlsReportRejectedException(TlsReportIntakeStatus.Invalid, e.Message);
            }

            var raw = new ReceivedReportJson(json.Count, json.Sha256(), held ? new ReadOnlyMemory<byte>(json.Held) : (ReadOnlyMemory<byte>?)null, Open);
            return new DecodedReport(report, raw, lease);
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

/// <summary>A report read from a body, with its JSON; holds its share of the <see cref="DecodeMemoryBudget"/> until disposed.</summary>
internal sealed class DecodedReport(TlsRptReport report, ReceivedReportJson json, IDisposable lease) : IDisposable
{
    public TlsRptReport Report { get; } = report;

    public ReceivedReportJson Json { get; } = json;

    public void Dispose() => lease.Dispose();
}
