using System.Text;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Tests.Reporting.TlsRpt;

/// <summary>The streaming read: the same report whatever the sizes of the reads it arrives in, within a small buffer.</summary>
public sealed class TlsRptReportReaderTests
{
    public static TheoryData<string, int> RealReportsInPieces() => new()
    {
        { "google-sts.json", 1 },
        { "google-no-policy.json", 3 },
        { "microsoft-sts.json", 1 },
        { "microsoft-fetch-error.json", 7 },
        { "rfc8460-appendix-b-normalized.json", 1 },
        { "rfc8460-appendix-b-joined.json", 5 },
    };

    [Theory]
    [MemberData(nameof(RealReportsInPieces))]
    public void Read_RealReportArrivingInSmallPieces_SameAsReadWhole(string fixture, int piece)
    {
        var json = TlsRptFixtures.Bytes(fixture);

        var report = TlsRptReportSerializer.Read(new TrickleStream(json, piece), keepAllText: true);

        Assert.Equal(TlsRptReportSerializer.Serialize(TlsRptReportSerializer.Parse(new ReadOnlyMemory<byte>(json))), TlsRptReportSerializer.Serialize(report));
    }

    [Fact]
    public void Read_MegabytesOfWhitespaceAroundTokens_StringsKeepTheirSpaces()
    {
        // Whitespace the reader cannot place yet (after a comma or colon) is squeezed, never the text in strings.
        var pad = new string(' ', 1024 * 1024);
        var json = "{\"organization-name\":" + pad + "\"Org   with    spaces\"," + pad + "\"date-range\":{\"start-datetime\":\"2026-01-01T00:00:00Z\",\"end-datetime\":\"2026-01-02T00:00:00Z\"},"
            + "\"report-id\"" + pad + ":" + pad + "\"id  \\\"  \\\\  x\"," + pad + "\"policies\":[" + pad + "{\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":\"pad.example\",\"policy-string\":[\"a    b\"]},"
            + "\"summary\":{\"total-successful-session-count\":" + pad + "12" + pad + "}}" + pad + "]" + pad + "}" + pad;

        var report = TlsRptReportSerializer.Read(new TrickleStream(Encoding.UTF8.GetBytes(json), 4096), keepAllText: true);

        Assert.Equal("Org   with    spaces", report.OrganizationName);
        Assert.Equal("id  \"  \\  x", report.ReportId);
        Assert.Equal(["a    b"], report.Policies[0].Policy.PolicyStrings);
        Assert.Equal(12, report.Policies[0].Summary.TotalSuccessfulSessionCount);
    }

    [Fact]
    public void Read_TwoNumbersApartByWhitespace_StillNotJson()
    {
        // Squeezing whitespace keeps one space, so "1 <lots of spaces> 2" never becomes the number 12.
        var json = "{\"organization-name\":\"o\",\"x\":[1" + new string(' ', 300 * 1024) + "2]}";

        var e = Assert.Throws<TlsRptReportFormatException>(() => TlsRptReportSerializer.Read(new MemoryStream(Encoding.UTF8.GetBytes(json)), keepAllText: true));

        Assert.StartsWith("tls-rpt report: report: not valid JSON", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_UnknownValueOverTheBuffer_RefusedNamingIt()
    {
        var json = TlsRptFixtures.Bytes("google-sts.json");
        var text = Encoding.UTF8.GetString(json);
        text = text.Insert(text.IndexOf('{', StringComparison.Ordinal) + 1, "\"x-huge\":\"" + new string('h', 200 * 1024) + "\",");

        var e = Assert.Throws<TlsRptReportFormatException>(() => TlsRptReportSerializer.Read(new MemoryStream(Encoding.UTF8.GetBytes(text)), keepAllText: true));

        Assert.Equal("x-huge", e.Field);
        Assert.Contains("larger than 131072 bytes", e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_WithoutKeepingText_SameFiguresNoPolicyStrings()
    {
        var json = TlsRptFixtures.Bytes(TlsRptFixtures.AppendixBNormalized);

        var all = TlsRptReportSerializer.Read(new MemoryStream(json), keepAllText: true);
        var figures = TlsRptReportSerializer.Read(new MemoryStream(json), keepAllText: false);

        Assert.Empty(figures.Policies[0].Policy.PolicyStrings);
        Assert.Empty(figures.Policies[0].Policy.MxHosts);
        Assert.Equal(all.Policies[0].Summary, figures.Policies[0].Summary);
        Assert.Equal(all.Policies[0].Policy.PolicyDomain, figures.Policies[0].Policy.PolicyDomain);
        Assert.Equal(
            all.Policies[0].FailureDetails.Select(d => (d.ResultType, d.ReceivingMxHostname, d.ReceivingIp, d.FailedSessionCount)),
            figures.Policies[0].FailureDetails.Select(d => (d.ResultType, d.ReceivingMxHostname, d.ReceivingIp, d.FailedSessionCount)));
        Assert.All(figures.Policies[0].FailureDetails, d => Assert.Null(d.AdditionalInformation));
    }

    [Fact]
    public void Read_WithoutKeepingText_StillChecksTheDroppedText()
    {
        var text = Encoding.UTF8.GetString(TlsRptFixtures.Bytes(TlsRptFixtures.AppendixBNormalized)).Replace("mode: testing", "mode: \\ud800", StringComparison.Ordinal);

        var e = Assert.Throws<TlsRptReportFormatException>(() => TlsRptReportSerializer.Read(new MemoryStream(Encoding.UTF8.GetBytes(text)), keepAllText: false));

        Assert.Equal("policies[0].policy.policy-string[1]", e.Field);
    }

    /// <summary>Hands out at most a few bytes per read, as a slow network or an inflater might.</summary>
    private sealed class TrickleStream(byte[] data, int piece) : MemoryStream(data, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, piece));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, piece)]);
    }
}
