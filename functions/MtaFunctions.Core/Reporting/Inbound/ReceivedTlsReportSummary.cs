namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>
/// What <c>GET /api/tlsrpt/summary</c> answers: the received reports of a period added up per day, per reporting
/// organisation, per result type and per MX host. A report counts on the UTC day its date-range starts.
/// </summary>
/// <param name="Domain">The domain asked for; null for all of ours.</param>
/// <param name="From">First day (UTC, inclusive).</param>
/// <param name="To">Last day (UTC, inclusive).</param>
/// <param name="Totals">The whole period.</param>
/// <param name="Days">Per day that had reports, oldest first.</param>
/// <param name="Organizations">Per reporting organisation, most sessions first.</param>
/// <param name="DayOrganizations">Per day and organisation, with their failures by result type and MX host.</param>
/// <param name="FailuresByResultType">Failed sessions per result type, most first.</param>
/// <param name="FailuresByMxHost">Failed sessions per MX host, most first.</param>
/// <param name="Domains">Per policy domain, most sessions first.</param>
public sealed record ReceivedTlsReportSummary(
    string? Domain,
    DateOnly From,
    DateOnly To,
    SessionFigures Totals,
    IReadOnlyList<DayFigures> Days,
    IReadOnlyList<OrganizationFigures> Organizations,
    IReadOnlyList<DayOrganizationFigures> DayOrganizations,
    IReadOnlyList<NamedCount> FailuresByResultType,
    IReadOnlyList<NamedCount> FailuresByMxHost,
    IReadOnlyList<DomainFigures> Domains)
{
    /// <summary>Adds up <paramref name="rows"/>.</summary>
    public static ReceivedTlsReportSummary Build(string? domain, DateOnly from, DateOnly to, IReadOnlyList<ReceivedDomainReport> rows)
    {
        var days = rows.GroupBy(r => r.Day).OrderBy(g => g.Key)
            .Select(g => new DayFigures(g.Key, Figures(g), Counts(g.SelectMany(r => r.FailuresByResultType))))
            .ToList();
        var organizations = rows.GroupBy(r => r.OrganizationName, StringComparer.Ordinal)
            .Select(g => new OrganizationFigures(g.Key, Figures(g)))
            .OrderByDescending(o => o.Figures.Sessions).ThenBy(o => o.Organization, StringComparer.Ordinal)
            .ToList();
        var dayOrganizations = rows.GroupBy(r => (r.Day, r.OrganizationName))
            .OrderBy(g => g.Key.Day).ThenBy(g => g.Key.OrganizationName, StringComparer.Ordinal)
            .Select(g => new DayOrganizationFigures(
                g.Key.Day,
                g.Key.OrganizationName,
                Figures(g),
                Counts(g.SelectMany(r => r.FailuresByResultType)),
                Counts(g.SelectMany(r => r.FailuresByMxHost))))
            .ToList();
        var domains = rows.GroupBy(r => r.Domain, StringComparer.Ordinal)
            .Select(g => new DomainFigures(g.Key, Figures(g)))
            .OrderByDescending(d => d.Figures.Sessions).ThenBy(d => d.Domain, StringComparer.Ordinal)
            .ToList();
        return new ReceivedTlsReportSummary(
            domain,
            from,
            to,
            Figures(rows),
            days,
            organizations,
            dayOrganizations,
            Counts(rows.SelectMany(r => r.FailuresByResultType)),
            Counts(rows.SelectMany(r => r.FailuresByMxHost)),
            domains);
    }

    private static SessionFigures Figures(IEnumerable<ReceivedDomainReport> rows)
    {
        var list = rows.ToList();
        return new SessionFigures(
            list.Select(r => r.ReportKey).Distinct(StringComparer.Ordinal).Count(),
            SaturatingSum(list.Select(r => r.SuccessfulSessions)),
            SaturatingSum(list.Select(r => r.FailedSessions)));
    }

    /// <summary>A sum that stops at <see cref="long.MaxValue"/>: one report's counts are bounded, a year of them need not be.</summary>
    internal static long SaturatingSum(IEnumerable<long> values)
    {
        long sum = 0;
        foreach (var v in values)
        {
            sum = SaturatingAdd(sum, v);
        }

        return sum;
    }

    /// <summary>a + b (both 0 or more), or <see cref="long.MaxValue"/> when that overflows.</summary>
    internal static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

    private static IReadOnlyList<NamedCount> Counts(IEnumerable<KeyValuePair<string, long>> pairs) =>
        pairs.GroupBy(p => p.Key, StringComparer.Ordinal)
            .Select(g => new NamedCount(g.Key, SaturatingSum(g.Select(p => p.Value))))
            .OrderByDescending(c => c.Count).ThenBy(c => c.Name, StringComparer.Ordinal)
            .ToList();
}

/// <summary>Reports and sessions of a group.</summary>
/// <param name="Reports">Distinct reports.</param>
/// <param name="Successful">Successful sessions.</param>
/// <param name="Failed">Failed sessions.</param>
public sealed record SessionFigures(int Reports, long Successful, long Failed)
{
    /// <summary>All sessions.</summary>
    public long Sessions => ReceivedTlsReportSummary.SaturatingAdd(Successful, Failed);

    /// <summary>Successful sessions in percent (2 decimals); null without sessions.</summary>
    public double? SuccessRate => Sessions == 0 ? null : Math.Round((double)Successful * 100.0 / Sessions, 2);
}

/// <summary>One UTC day.</summary>
public sealed record DayFigures(DateOnly Date, SessionFigures Figures, IReadOnlyList<NamedCount> FailuresByResultType);

/// <summary>One reporting organisation.</summary>
public sealed record OrganizationFigures(string Organization, SessionFigures Figures);

/// <summary>One organisation on one day.</summary>
public sealed record DayOrganizationFigures(DateOnly Date, string Organization, SessionFigures Figures, IReadOnlyList<NamedCount> FailuresByResultType, IReadOnlyList<NamedCount> FailuresByMxHost);

/// <summary>One policy domain.</summary>
public sealed record DomainFigures(string Domain, SessionFigures Figures);

/// <summary>A name (result type, MX host) and its failed sessions.</summary>
public sealed record NamedCount(string Name, long Count);
