using System.Text;
using MtaFunctions.Core.Reporting.Inbound;

namespace MtaFunctions.Tests.Reporting.Inbound;

public sealed class ReportBodyDecoderTests
{
    private static readonly byte[] Json = Encoding.UTF8.GetBytes("{\"organization-name\":\"x\"}");

    [Fact]
    public async Task ReadJsonAsync_Gzip_ReturnsTheJson()
    {
        var json = await ReportBodyDecoder.ReadJsonAsync(new MemoryStream(TlsRptHostFixture.Gzip(Json)), 1024, 1024, "body", TestContext.Current.CancellationToken);

        Assert.Equal(Json, json);
    }

    [Fact]
    public async Task ReadJsonAsync_PlainJson_ReturnsItUnchanged()
    {
        var json = await ReportBodyDecoder.ReadJsonAsync(new MemoryStream(Json), 1024, 1024, "body", TestContext.Current.CancellationToken);

        Assert.Equal(Json, json);
    }

    [Fact]
    public async Task ReadJsonAsync_GzipBomb_StopsReadingLongBeforeTheEnd()
    {
        var bomb = TlsRptHostFixture.Gzip(new byte[64 * 1024 * 1024]);
        var input = new MemoryStream(bomb);

        var e = await Assert.ThrowsAsync<TlsReportRejectedException>(() =>
            ReportBodyDecoder.ReadJsonAsync(input, bomb.Length, 1024 * 1024, "body", TestContext.Current.CancellationToken));

        Assert.Equal(TlsReportIntakeStatus.TooLarge, e.Status);
        Assert.True(input.Position < bomb.Length / 4, $"read {input.Position} of {bomb.Length} compressed bytes before refusing");
    }

    [Fact]
    public async Task ReadJsonAsync_BodyOverItsLimit_TooLarge()
    {
        var e = await Assert.ThrowsAsync<TlsReportRejectedException>(() =>
            ReportBodyDecoder.ReadJsonAsync(new MemoryStream(Json), Json.Length - 1, 1024, "request body", TestContext.Current.CancellationToken));

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
            ReportBodyDecoder.ReadJsonAsync(new MemoryStream(gzip[..^cut]), 100_000, 100_000, "body", TestContext.Current.CancellationToken));

        Assert.Equal(TlsReportIntakeStatus.Invalid, e.Status);
        Assert.StartsWith("gzip: truncated or corrupt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadJsonAsync_FlippedCrc_Invalid()
    {
        var gzip = TlsRptHostFixture.Gzip(Json);
        gzip[^8] ^= 0x01;

        var e = await Assert.ThrowsAsync<TlsReportRejectedException>(() =>
            ReportBodyDecoder.ReadJsonAsync(new MemoryStream(gzip), 1024, 1024, "body", TestContext.Current.CancellationToken));

        Assert.Equal(TlsReportIntakeStatus.Invalid, e.Status);
    }
}
