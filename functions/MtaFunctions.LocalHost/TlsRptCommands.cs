using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.LocalHost;

/// <summary>Operator commands of outgoing TLS reports.</summary>
public static class TlsRptCommands
{
    /// <summary><c>tlsrpt pending</c>: what the current period will report, and the reports of recent periods.</summary>
    public static OperatorCommand Pending { get; } = new(
        "tlsrpt pending",
        "tlsrpt pending             sessions counted in the current TLS report period, and reports sent",
        RunPendingAsync);

    private static async Task<int> RunPendingAsync(IServiceProvider services, string[] args, TextWriter output)
    {
        var settings = services.GetRequiredService<TlsReportSettings>();
        if (settings.Problem is { } problem)
        {
            await output.WriteLineAsync($"TLS reports are OFF because a report setting cannot be used (delivery runs): {problem.Message}").ConfigureAwait(false);
            return 1;
        }

        if (settings.Send == TlsReportFrequency.Never)
        {
            await output.WriteLineAsync($"TLS reports are off ({SettingKeys.TlsReportSend} = never): nothing is recorded or sent.").ConfigureAwait(false);
            return 0;
        }

        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        var period = TlsReportPeriod.Containing(settings.Send, now);
        var results = services.GetRequiredService<TlsResultsStore>();
        var sessions = await results.ReadAsync(period.HourKeys().Where(h => string.CompareOrdinal(h, TlsReportPeriod.HourKey(now)) <= 0), CancellationToken.None)
            .ConfigureAwait(false);
        var inv = CultureInfo.InvariantCulture;
        await output.WriteLineAsync(string.Create(inv, $"Current period {period.Key} ({period.Start:u} to {period.End:u}), flushed counts:")).ConfigureAwait(false);
        var byDomain = sessions.GroupBy(s => s.Key.Policy.Domain).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        foreach (var domain in byDomain)
        {
            var ok = domain.Where(s => s.Key.Failure is null).Sum(s => s.Value);
            var failed = domain.Where(s => s.Key.Failure is not null).Sum(s => s.Value);
            await output.WriteLineAsync(string.Create(inv, $"  {domain.Key,-40} {ok,8} successful {failed,8} failed")).ConfigureAwait(false);
        }

        if (byDomain.Count == 0)
        {
            await output.WriteLineAsync("  (none yet)").ConfigureAwait(false);
        }

        var sent = services.GetRequiredService<SentTlsReportsStore>();
        await output.WriteLineAsync("Reports of recent periods:").ConfigureAwait(false);
        var any = false;
        foreach (var marker in (await sent.MarkersAsync(CancellationToken.None).ConfigureAwait(false))
                     .Where(m => m.PeriodStart >= now - TimeSpan.FromDays(8)).OrderBy(m => m.PeriodStart))
        {
            var deliveries = (await sent.DeliveriesAsync(marker.RowKey, CancellationToken.None).ConfigureAwait(false)).ToLookup(d => d.Domain);
            foreach (var plan in await sent.PlansAsync(marker.RowKey, CancellationToken.None).ConfigureAwait(false))
            {
                any = true;
                await output.WriteLineAsync(string.Create(inv, $"  {marker.RowKey} {plan.RowKey,-40} {plan.State,-8} not before {plan.NotBefore:u} {plan.Outcome}")).ConfigureAwait(false);
                foreach (var d in deliveries[plan.RowKey])
                {
                    await output.WriteLineAsync(string.Create(inv, $"      {d.Rua} {d.State} attempts {d.Attempts} {d.Size} bytes {d.SentAt:u} {d.LastError}")).ConfigureAwait(false);
                }
            }
        }

        if (!any)
        {
            await output.WriteLineAsync("  (none)").ConfigureAwait(false);
        }

        return 0;
    }
}
