using System.Security.Cryptography;
using System.Text;
using MtaFunctions.Core.Reporting.Inbound;

namespace MtaFunctions.Tests.Reporting.Inbound;

public sealed class ReportBodyDecoderTests
{
    private static readonly byte[] Json = TlsRptReports.Json(TlsRptReports.Sts("Decoder Org", "decoder-1", "decoder.example", new DateOnly(2026, 3, 1), 5));

    private static readonly DecodeMemoryBudget Budget = new(64 * 1024 * 1024);

    [Fact]
    public async Task ReadJsonAsync_Gzip_ReturnsTheJson()
    {
        var json = await ReadAsync(new MemoryStream(TlsRptHostFixture.Gzip(Json)), 4096, 4096, "body", TestContext.Current.CancellationToken);

        Assert.Equal(Json, json);
    }

    [Fact]
    public async Task ReadJsonAsync_PlainJson_ReturnsItUnchanged()
    {
        var json = await ReadAsync(new MemoryStream(Json), 4096, 4096, "body", TestContext.Current.CancellationToken);

        Assert.Equal(Json, json);
    }

    [Fact]
    public async Task ReadAsync_LargeGzipReport_ReadAsItInflatesWithoutHoldingTheJson()
    {
        // 8 MB of JSON (whitespace between the fields, as some reporters pretty-print): the report is read while
        // it is inflated and the JSON is not kept; reading it again gives the same bytes, length and digest.
        var json = Padded(8 * 1024 * 1024);
        var gzip = TlsRptHostFixture.Gzip(json);
        var before = GC.GetAllocatedBytesForCurrentThread();

        using var decoded = await ReportBodyDecoder.ReadAsync(new MemoryStream(gzip), gzip.Length + 1, 20 * 1024 * 1024, "body", Budget, TestContext.Current.CancellationToken);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Null(decoded.Json.Bytes);
        Assert.True(allocated < json.Length / 4, $"reading allocated {allocated} bytes for {json.Length} bytes of JSON");
        Assert.Equal("decoder-large", decoded.Report.ReportId);
        Assert.Equal(json.Length, decoded.Json.Length);
        Assert.Equal(SHA256.HashData(json), decoded.Json.Sha256);
        using var again = new MemoryStream();
        await using (var stream = decoded.Json.Open())
        {
            await stream.CopyToAsync(again, TestContext.Current.CancellationToken);
        }

        Assert.Equal(json, again.ToArray());
    }

    [Fact]
    public async Task ReadAsync_LargeReportWithGarbageAfterIt_InvalidNamingTheJson()
    {
        var json = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Padded(1024 * 1024)) + "x");

        var e = await Assert.ThrowsAsync<TlsReportRejectedException>(() =>
            ReadAsync(new MemoryStream(TlsRptHostFixture.Gzip(json)), 4 * 1024 * 1024, 4 * 1024 * 1024, "body", TestContext.Current.CancellationToken));

        Assert.Equal(TlsReportIntakeStatus.Invalid, e.Status);
        Assert.StartsWith("tls-rpt report: report: not valid JSON", e.Message, StringComparison.Ordinal);
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
        using var decoded = await ReportBodyDecoder.ReadAsync(body, maxBody, maxReport, what, Budget, cancellationToken);
        using var json = new MemoryStream();
        await using (var stream = decoded.Json.Open())
        {
            await stream.CopyToAsync(json, cancellationToken);
        }

        Assert.Equal(json.ToArray(), decoded.Json.Bytes?.ToArray() ?? json.ToArray());
        Assert.Equal(SHA256.HashData(json.ToArray()), decoded.Json.Sha256);
        Assert.Equal(json.Length, decoded.Json.Length);
        return json.ToArray();
    }

    /// <summary>A valid report of about <paramref name="size"/> bytes: its fields apart by whitespace.</summary>
    private static byte[] Padded(int size)
    {
        var json = new StringBuilder();
        json.Append("""{"organization-name":"Decoder Org","date-range":{"start-datetime":"2026-03-01T00:00:00Z","end-datetime":"2026-03-01T23:59:59Z"},"report-id":"decoder-large",""");
        json.Append(' ', size);
        json.Append("""
            "policies":[{"policy":{"policy-type":"sts","policy-string":["version: STSv1"],"policy-domain":"decoder.example","mx-host":["*.decoder.example"]},"summary":{"total-successful-session-count":7,"total-failure-session-count":0}}]}
            """);
        return Encoding.UTF8.GetBytes(json.ToString());
    }
}
