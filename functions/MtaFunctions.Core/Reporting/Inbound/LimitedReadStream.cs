namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>
/// A read-only view of a stream that refuses to hand out more than a limit (throwing as soon as the limit is
/// passed, so nothing larger is ever read whole) and remembers the last eight bytes it handed out (a gzip trailer).
/// </summary>
internal sealed class LimitedReadStream(Stream inner, long limit, string what) : Stream
{
    private readonly byte[] _tail = new byte[8];

    /// <summary>Bytes handed out so far.</summary>
    public long Count { get; private set; }

    /// <summary>The last up-to-eight bytes handed out, oldest first.</summary>
    public ReadOnlySpan<byte> Tail => Count >= 8 ? _tail : _tail.AsSpan(8 - (int)Count);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => Count; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Took(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Took(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private void Took(ReadOnlySpan<byte> data)
    {
        Count += data.Length;
        if (Count > limit)
        {
            throw new TlsReportRejectedException(TlsReportIntakeStatus.TooLarge, $"{what} is larger than {limit} bytes");
        }

        if (data.Length >= 8)
        {
            data[^8..].CopyTo(_tail);
        }
        else if (data.Length > 0)
        {
            _tail.AsSpan(data.Length).CopyTo(_tail);
            data.CopyTo(_tail.AsSpan(8 - data.Length));
        }
    }
}
