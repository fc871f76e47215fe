using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.Outbound;

namespace MtaFunctions.Tests.Reporting.Outbound;

public sealed class TlsReportPeriodTests
{
    private static readonly DateTimeOffset Saturday = new(2026, 11, 28, 23, 59, 59, TimeSpan.Zero);

    [Fact]
    public void Containing_Daily_IsTheFullUtcDay()
    {
        // RFC 8460 §4.1: a full UTC day, 00:00 to 24:00.
        var p = TlsReportPeriod.Containing(TlsReportFrequency.Daily, Saturday);
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 0, 0, 0, TimeSpan.Zero), p.Start);
        Assert.Equal(new DateTimeOffset(2026, 11, 29, 0, 0, 0, TimeSpan.Zero), p.End);
        Assert.Equal("d20261128", p.Key);
        Assert.Equal(24, p.HourKeys().Count());
        Assert.Equal("d20261129", TlsReportPeriod.Containing(TlsReportFrequency.Daily, Saturday.AddSeconds(1)).Key);
    }

    [Fact]
    public void Containing_DailyWithOffset_UsesUtc()
    {
        var local = new DateTimeOffset(2026, 11, 29, 1, 30, 0, TimeSpan.FromHours(2)); // 23:30 UTC on the 28th
        Assert.Equal("d20261128", TlsReportPeriod.Containing(TlsReportFrequency.Daily, local).Key);
    }

    [Fact]
    public void Containing_Hourly_IsTheUtcHour()
    {
        var p = TlsReportPeriod.Containing(TlsReportFrequency.Hourly, Saturday);
        Assert.Equal("h2026112823", p.Key);
        Assert.Equal(Saturday.AddSeconds(1), p.End);
        Assert.Equal(["2026112823"], p.HourKeys());
        Assert.Equal("h2026112822", p.Previous.Key);
    }

    [Fact]
    public void Containing_Weekly_RunsMondayToMonday()
    {
        var p = TlsReportPeriod.Containing(TlsReportFrequency.Weekly, Saturday);
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero), p.Start);
        Assert.Equal(DayOfWeek.Monday, p.Start.DayOfWeek);
        Assert.Equal(new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero), p.End);
        Assert.Equal(168, p.HourKeys().Count());
        Assert.Equal(p.Start, TlsReportPeriod.Containing(TlsReportFrequency.Weekly, p.Start).Start);
        Assert.Equal(p.End, TlsReportPeriod.Containing(TlsReportFrequency.Weekly, p.End).Start);
        Assert.Equal("w20261116", p.Previous.Key);
    }

    [Fact]
    public void Containing_Never_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => TlsReportPeriod.Containing(TlsReportFrequency.Never, Saturday));
}
