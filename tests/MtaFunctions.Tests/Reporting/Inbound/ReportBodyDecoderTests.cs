using System.Text;
using MtaFunctions.Core.Reporting.Inbound;

namespace MtaFunctions.Tests.Reporting.Inbound;

public sealed class ReportBodyDecoderTests
{
    private static readonly byte[] Json = Encoding.UTF8.GetBytes("{\"organization-name\":\"x\"}");

    private static readonly DecodeMemoryBudget Budget = new(64 * 1024 * 1024);

    [Fact]
    public async Task ReadJsonAsync_Gzip_ReturnsTheJson()
    {
        var json = await ReadAsync(new MemoryStream(TlsRptHostFixture.Gzip(Json)), 1024, 1024, "body", TestContext.Current.CancellationToken);

        Assert.Equal(Json, json);
    }

    [Fact]
    public async Task ReadJsonAsync_PlainJson_ReturnsItUnchanged()
    {
        var json = await ReadAsync(new MemoryStream(Json), 1024, 1024, "body", TestContext.Current.CancellationToken);

        Assert.Equal(Json, json);
    }

    [Fact]
    public async Task ReadJsonAsync_GzipBomb_TooLarge()
    {
        var bomb = TlsRptHostFixture.Gzip(new byte[64 * 1024 * 1024]);

        var e = await Assert.ThrowsAsync<TlsReportRejectedException>(() =>
            ReadAsync(new MemoryStream(bomb), bomb.Length, 1024 * 1024, "body", TestContext.Current.CancellationToken));

        Assert.Equal(TlsReportIntakeStatus.TooLarge, e.Status);
    }

    [Fact]
    public async Task ReadJsonAsync_GzipBombWithASmallTrailer_RefusedWithoutInflatingPastTheTrailer()
    {
        var bomb = TlsRptHostFixture.Gzip(new byte[64 * 1024 * 1024]);
        BitConverter.TryWriteBytes(bomb.AsSpan(bomb.Length - 4), 100u);

        var e = await Assert.ThrowsAsync<TlsReportRejectedException>(() =>
            ReadAsync(new MemoryStream(bomb), bomb.Length, 1024 * 1024, "body", TestContext.Current.CancellationToken));

        Assert.Equal(TlsReportIntakeStatus.Invalid, e.Status);
        Assert.StartsWith("gzip: truncated or corrupt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DecodeMemoryBudget_Exhausted_NextWaitsUntilALeaseEnds()
    {
        var budget = new DecodeMemoryBudget(1000);
        var first = await budget.AcquireAsync(800, TestContext.Current.CancellationToken);

        var second = budget.AcquireAsync(400, TestContext.Current.CancellationToken);
        var oversized = budget.AcquireAsync(5000, TestContext.Current.CancellationToken);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        var waitedWhileHeld = !second.IsCompleted && !oversized.IsCompleted;
        first.Dispose();
        (await second).Dispose();

        Assert.True(waitedWhileHeld);
        (await oversized).Dispose();
    }

    [Fact]
    public async Task ReadJsonAsync_BodyOverItsLimit_TooLarge()
    {
        var e = await Assert.ThrowsAsync<TlsReportRejectedException>(() =>
            ReadAsync(new MemoryStream(Json), Json.Length - 1, 1024, "request body", TestContext.Current.CancellationToken));

        Assert.Equal(TlsReportIntakeStatus.TooLarge, e.Status);
        Assert.Equal($"request body is larger than {Json.Length - 1} bytes", e.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(12)]
    public async Task ReadJsonAsync_TruncatedGzip_Invalid(int cut)
    {
        var gzip = TlsRptHostFixture.Gzip(Encoding.UTF8.GetBytes(new string('a', 5000) + "{}"));

        var e = await Assert.ThrowsAsync<TlsReportRejectedException>(() =>
            ReadAsync(new MemoryStream(gzip[..^cut]), 100_000, 100_000, "body", TestContext.Current.CancellationToken));

        Assert.Equal(TlsReportIntakeStatus.Invalid, e.Status);
        Assert.StartsWith("gzip: truncated or corrupt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadJsonAsync_FlippedCrc_Invalid()
    {
        var gzip = TlsRptHostFixture.Gzip(Json);
        gzip[^8] ^= 0x01;

        var e = await Assert.ThrowsAsync<TlsReportRejectedException>(() =>
            ReadAsync(new MemoryStream(gzip), 1024, 1024, "body", TestContext.Current.CancellationToken));

        Assert.Equal(TlsReportIntakeStatus.Invalid, e.Status);
    }

    private static async Task<byte[]> ReadAsync(Stream body, long maxBody, long maxReport, string what, CancellationToken cancellationToken)
    {
        var (json, lease) = await ReportBodyDecoder.ReadJsonAsync(body, maxBody, maxReport, what, Budget, cancellationToken);
        lease.Dispose();
        return json;
    }
}
