using System.CommandLine;
using System.Globalization;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Tool.Verbs;

/// <summary><c>tlsrpt pending|send</c>: outgoing TLS reports (RFC 8460), counted and sent.</summary>
public static class TlsRptVerbs
{
    public static Command Create(VerbFactory verbs) => new("tlsrpt", "outgoing TLS reports (RFC 8460)") { Pending(verbs), Send(verbs) };

    private static Command Send(VerbFactory verbs)
    {
        var json = VerbFactory.Json();
        var previous = new Option<bool>("--previous", "--yesterday")
        {
            Description = "the period before the current one (yesterday's, with daily reports) instead of the current one",
        };
        var at = new Option<DateTimeOffset?>("--at")
        {
            Description = "a time (ISO 8601, e.g. 2026-11-27T12:00Z) in the period to close instead of the current one",
        };
        var command = new Command("send", "close a report period now and send its reports at once (each report still goes once per rua)") { previous, at, json };
        command.Validators.Add(r =>
        {
            if (r.GetValue(previous) && r.GetValue(at) is not null)
            {
                r.AddError("send takes at most one of --previous, --at TIME");
            }
        });
        return verbs.Runs(command, async (ctx, parse, ct) =>
        {
            var settings = ctx.Get<TlsReportSettings>();
            if (await ReportsOffAsync(ctx, settings, parse.GetValue(json)).ConfigureAwait(false))
            {
                // Nothing can be sent: the operator asked for reports, so this is a failure.
                return MtaTool.Failure;
            }

            var now = ctx.Get<TimeProvider>().GetUtcNow();
            var when = parse.GetValue(at) ?? (parse.GetValue(previous) ? TlsReportPeriod.Containing(settings.Send, now).Previous.Start : now);
            var period = TlsReportPeriod.Containing(settings.Send, when);
            var result = await ctx.Get<TlsReportSender>().SendNowAsync(when, ct).ConfigureAwait(false);
            var plans = (await ctx.Get<SentTlsReportsStore>().PlansAsync(period.Key, ct).ConfigureAwait(false))
                .OrderBy(p => p.RowKey, StringComparer.Ordinal)
                .Select(p => new SentPlan(p.RowKey, p.ReportId, p.State, p.NotBefore, p.Outcome))
                .ToList();
            var failed = result.Failed > 0;

            if (parse.GetValue(json))
            {
                await ToolJson.WriteAsync(ctx.Out, new
                {
                    period = new { key = period.Key, start = period.Start, end = period.End },
                    periodsPlanned = result.PeriodsPlanned,
                    sent = result.Sent,
                    failed = result.Failed,
                    notReported = result.NotReported,
                    reports = plans,
                }).ConfigureAwait(false);
                return failed ? MtaTool.Failure : MtaTool.Ok;
            }

            var inv = CultureInfo.InvariantCulture;
            await ctx.Out.WriteLineAsync(string.Create(inv,
                $"Period {period.Key} ({period.Start:u} to {period.End:u}): {(result.PeriodsPlanned > 0 ? "closed now" : "closed before")}; sent {result.Sent}, failed {result.Failed}, not reported {result.NotReported}")).ConfigureAwait(false);
            foreach (var p in plans)
            {
                await ctx.Out.WriteLineAsync(string.Create(inv, $"  {p.Domain,-40} {p.State,-8} {p.ReportId} {p.Outcome}")).ConfigureAwait(false);
            }

            if (plans.Count == 0)
            {
                await ctx.Out.WriteLineAsync("  (no sessions counted in this period: no report)").ConfigureAwait(false);
            }

            if (failed)
            {
                await ctx.Env.Error.WriteLineAsync($"{result.Failed} report(s) could not be sent; they are retried by the timer for up to 24 hours (mta tlsrpt pending shows each rua's error)").ConfigureAwait(false);
            }

            return failed ? MtaTool.Failure : MtaTool.Ok;
        });
    }

    /// <summary>Prints why reports are off, when they are (a setting problem or <c>Send = never</c>).</summary>
    private static async Task<bool> ReportsOffAsync(ToolContext ctx, TlsReportSettings settings, bool json)
    {
        if (settings.Problem is { } problem)
        {
            if (json)
            {
                await ToolJson.WriteAsync(ctx.Out, new { enabled = false, problem = new { key = problem.Key, message = problem.Message } }).ConfigureAwait(false);
            }
            else
            {
                await ctx.Out.WriteLineAsync($"TLS reports are OFF because a report setting cannot be used (delivery runs): {problem.Message}").ConfigureAwait(false);
            }

            return true;
        }

        if (settings.Send == TlsReportFrequency.Never)
        {
            if (json)
            {
                await ToolJson.WriteAsync(ctx.Out, new { enabled = false }).ConfigureAwait(false);
            }
            else
            {
                await ctx.Out.WriteLineAsync($"TLS reports are off ({SettingKeys.TlsReportSend} = never): nothing is recorded or sent.").ConfigureAwait(false);
            }

            return true;
        }

        return false;
    }

    private static Command Pending(VerbFactory verbs)
    {
        var json = VerbFactory.Json();
        var command = new Command("pending", "sessions counted in the current report period, and the reports of recent periods") { json };
        return verbs.Runs(command, async (ctx, parse, ct) =>
        {
            var settings = ctx.Get<TlsReportSettings>();
            if (await ReportsOffAsync(ctx, settings, parse.GetValue(json)).ConfigureAwait(false))
            {
                // Off by choice (never) is a fine answer; off by a bad setting is not.
                return settings.Problem is null ? MtaTool.Ok : MtaTool.Failure;
            }

            var now = ctx.Get<TimeProvider>().GetUtcNow();
            var period = TlsReportPeriod.Containing(settings.Send, now);
            var sessions = await ctx.Get<TlsResultsStore>()
                .ReadAsync(period.HourKeys().Where(h => string.CompareOrdinal(h, TlsReportPeriod.HourKey(now)) <= 0), ct).ConfigureAwait(false);
            var domains = sessions.GroupBy(s => s.Key.Policy.Domain).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new PendingDomain(g.Key, g.Where(s => s.Key.Failure is null).Sum(s => s.Value), g.Where(s => s.Key.Failure is not null).Sum(s => s.Value)))
                .ToList();

            var sent = ctx.Get<SentTlsReportsStore>();
            var reports = new List<RecentReport>();
            foreach (var marker in (await sent.MarkersAsync(ct).ConfigureAwait(false))
                         .Where(m => m.PeriodStart >= now - TimeSpan.FromDays(8)).OrderBy(m => m.PeriodStart))
            {
                var deliveries = (await sent.DeliveriesAsync(marker.RowKey, ct).ConfigureAwait(false)).ToLookup(d => d.Domain);
                foreach (var plan in await sent.PlansAsync(marker.RowKey, ct).ConfigureAwait(false))
                {
                    reports.Add(new RecentReport(marker.RowKey, plan.RowKey, plan.State, plan.NotBefore, plan.Outcome,
                        [.. deliveries[plan.RowKey].Select(d => new RuaDelivery(d.Rua, d.State, d.Attempts, d.Size, d.SentAt, d.LastError))]));
                }
            }

            if (parse.GetValue(json))
            {
                await ToolJson.WriteAsync(ctx.Out, new { enabled = true, period = new { key = period.Key, start = period.Start, end = period.End }, domains, reports })
                    .ConfigureAwait(false);
                return MtaTool.Ok;
            }

            var inv = CultureInfo.InvariantCulture;
            await ctx.Out.WriteLineAsync(string.Create(inv, $"Current period {period.Key} ({period.Start:u} to {period.End:u}), flushed counts:")).ConfigureAwait(false);
            foreach (var d in domains)
            {
                await ctx.Out.WriteLineAsync(string.Create(inv, $"  {d.Domain,-40} {d.Successful,8} successful {d.Failed,8} failed")).ConfigureAwait(false);
            }

            if (domains.Count == 0)
            {
                await ctx.Out.WriteLineAsync("  (none yet)").ConfigureAwait(false);
            }

            await ctx.Out.WriteLineAsync("Reports of recent periods:").ConfigureAwait(false);
            foreach (var r in reports)
            {
                await ctx.Out.WriteLineAsync(string.Create(inv, $"  {r.Period} {r.Domain,-40} {r.State,-8} not before {r.NotBefore:u} {r.Outcome}")).ConfigureAwait(false);
                foreach (var d in r.Deliveries)
                {
                    await ctx.Out.WriteLineAsync(string.Create(inv, $"      {d.Rua} {d.State} attempts {d.Attempts} {d.Size} bytes {d.SentAt:u} {d.LastError}")).ConfigureAwait(false);
                }
            }

            if (reports.Count == 0)
            {
                await ctx.Out.WriteLineAsync("  (none)").ConfigureAwait(false);
            }

            return MtaTool.Ok;
        });
    }

    private sealed record SentPlan(string Domain, string? ReportId, string? State, DateTimeOffset? NotBefore, string? Outcome);

    private sealed record PendingDomain(string Domain, long Successful, long Failed);

    private sealed record RecentReport(string Period, string Domain, string? State, DateTimeOffset? NotBefore, string? Outcome, IReadOnlyList<RuaDelivery> Deliveries);

    private sealed record RuaDelivery(string? Rua, string? State, int? Attempts, long? Size, DateTimeOffset? SentAt, string? LastError);
}
