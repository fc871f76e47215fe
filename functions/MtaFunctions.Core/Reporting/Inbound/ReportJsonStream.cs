using System.Security.Cryptography;

namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>
/// The report JSON as it comes out of the body (inflated when gzip'd), checked as it passes: never more than
/// the gzip trailer announced (a bomb or a lying trailer stops at once), the trailer's CRC32 and ISIZE at the end
/// (RFC 1952 §2.3.1), and its SHA-256 computed on the way; a small JSON is also kept.
/// </summary>
internal sealed class ReportJsonStream : Stream
{
    private const string Corrupt = "gzip: truncated or corrupt (its CRC32/ISIZE trailer does not match the data)";

    private readonly Stream _inner;
    private readonly long _size;
    private readonly uint? _crcExpected;
    private readonly long _maxReport;
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly Crc32? _crc;
    private readonly byte[]? _held;
    private long _count;
    private bool _ended;

    /// <param name="inner">The JSON (an inflating stream for gzip).</param>
    /// <param name="size">Its length: the gzip trailer's ISIZE, or the body's length.</param>
    /// <param name="crcExpected">The gzip trailer's CRC32; null for plain JSON.</param>
    /// <param name="maxReport">The decompressed limit, to tell a bomb from a corrupt trailer.</param>
    /// <param name="hold">Keep the bytes (a small report).</param>
    public ReportJsonStream(Stream inner, long size, uint? crcExpected, long maxReport, bool hold)
    {
        _inner = inner;
        _size = size;
        _crcExpected = crcExpected;
        _maxReport = maxReport;
        _crc = crcExpected is null ? null : new Crc32();
        _held = hold ? new byte[size] : null;
    }

    /// <summary>Bytes of JSON read so far.</summary>
    public long Count => _count;

    /// <summary>The JSON when held; complete once the stream has ended.</summary>
    public byte[]? Held => _held;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _count; set => throw new NotSupportedException(); }

    /// <summary>The SHA-256 of the JSON; call once the stream has ended.</summary>
    public byte[] Sha256() => _sha256.GetHashAndReset();

    /// <summary>Reads to the end, keeping nothing, so that the trailer is checked.</summary>
    public void Drain()
    {
        var scratch = new byte[16384];
        while (Read(scratch) > 0)
        {
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n;
        try
        {
            n = _inner.Read(buffer);
        }
        catch (InvalidDataException e)
        {
            throw new TlsReportRejectedException(TlsReportIntakeStatus.Invalid, "gzip: corrupt data: " + e.Message);
        }

        if (n == 0)
        {
            // GZipStream ends quietly on truncated input; the trailer tells.
            // Spec note: the trailer checked is the last member's, so a multi-member gzip (RFC 1952 §2.2), which no
            // reporter is known to send, is refused as corrupt.
            if (!_ended && _crcExpected is { } expected && (_count != _size || _crc!.Value != expected))
            {
                throw new TlsReportRejectedException(TlsReportIntakeStatus.Invalid, Corrupt);
            }

            _ended = true;
            return 0;
        }

        if (_count + n > _size)
        {
            // More than the trailer says: a bomb whose size wrapped past 2^32, or a lying trailer.
            throw _count + n > _maxReport
                ? new TlsReportRejectedException(TlsReportIntakeStatus.TooLarge, $"decompressed report is larger than {_maxReport} bytes")
                : new TlsReportRejectedException(TlsReportIntakeStatus.Invalid, Corrupt);
        }

        var data = buffer[..n];
        _sha256.AppendData(data);
        _crc?.Append(data);
        if (_held is not null)
        {
            data.CopyTo(_held.AsSpan((int)_count));
        }

        _count += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _sha256.Dispose();
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
