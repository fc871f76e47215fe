using System.Globalization;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Reporting.Outbound;

/// <summary>One report period: a UTC hour, day or week.</summary>
/// <remarks>
/// RFC 8460 §4.1: the period SHOULD be a full UTC day (00:00 to 24:00); hourly and weekly follow the same rule
/// on their own boundaries (weeks run Monday 00:00 to Monday 00:00 UTC). Sessions are stored per UTC hour
/// (<see cref="HourKey"/>), so a period is the union of its hours whatever the frequency.
/// </remarks>
/// <param name="Frequency">Hourly, daily or weekly.</param>
/// <param name="Start">Inclusive start, UTC.</param>
public sealed record TlsReportPeriod(TlsReportFrequency Frequency, DateTimeOffset Start)
{
    /// <summary>Exclusive end, UTC.</summary>
    public DateTimeOffset End => Frequency switch
    {
        TlsReportFrequency.Hourly => Start.AddHours(1),
        TlsReportFrequency.Daily => Start.AddDays(1),
        TlsReportFrequency.Weekly => Start.AddDays(7),
        _ => throw new InvalidOperationException("no period when reports are never sent"),
    };

    /// <summary>The report's date-range.</summary>
    public TlsRptDateRange DateRange => new(Start, End);

    /// <summary>A storage key naming the period: <c>h2026112815</c>, <c>d20261128</c>, <c>w20261123</c>.</summary>
    public string Key => Frequency switch
    {
        TlsReportFrequency.Hourly => "h" + Start.ToString("yyyyMMddHH", CultureInfo.InvariantCulture),
        TlsReportFrequency.Daily => "d" + Start.ToString("yyyyMMdd", CultureInfo.InvariantCulture),
        _ => "w" + Start.ToString("yyyyMMdd", CultureInfo.InvariantCulture),
    };

    /// <summary>The period before this one.</summary>
    public TlsReportPeriod Previous => Containing(Frequency, Start.AddTicks(-1));

    /// <summary>The hour keys the period covers, in order.</summary>
    public IEnumerable<string> HourKeys()
    {
        for (var hour = Start; hour < End; hour = hour.AddHours(1))
        {
            yield return HourKey(hour);
        }
    }

    /// <summary>The period of <paramref name="frequency"/> holding <paramref name="instant"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="frequency"/> is never.</exception>
    public static TlsReportPeriod Containing(TlsReportFrequency frequency, DateTimeOffset instant)
    {
        var utc = instant.ToUniversalTime();
        var hour = new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
        var day = hour.AddHours(-hour.Hour);
        return frequency switch
        {
            TlsReportFrequency.Hourly => new(frequency, hour),
            TlsReportFrequency.Daily => new(frequency, day),
            TlsReportFrequency.Weekly => new(frequency, day.AddDays(-(((int)day.DayOfWeek + 6) % 7))),
            _ => throw new ArgumentOutOfRangeException(nameof(frequency), frequency, "no period when reports are never sent"),
        };
    }

    /// <summary>The storage key of the UTC hour holding <paramref name="instant"/>: <c>2026112815</c>.</summary>
    public static string HourKey(DateTimeOffset instant) =>
        instant.ToUniversalTime().ToString("yyyyMMddHH", CultureInfo.InvariantCulture);
}
