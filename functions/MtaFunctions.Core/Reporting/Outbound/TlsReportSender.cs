using Azure;
using Microsoft.Extensions.Logging;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Core.Storage;
using MtaFunctions.Core.Telemetry;

namespace MtaFunctions.Core.Reporting.Outbound;

/// <summary>What one run of <see cref="TlsReportSender.RunAsync"/> did.</summary>
/// <param name="PeriodsPlanned">Periods whose domains were planned in this run.</param>
/// <param name="Sent">Reports handed to an rua (queued for mailto:, 2xx for https:).</param>
/// <param name="Failed">Attempts that failed and will be retried or were given up.</param>
/// <param name="NotReported">Domains closed without a report (no or bad TLSRPT record).</param>
public sealed record TlsReportRunResult(int PeriodsPlanned, int Sent, int Failed, int NotReported);

/// <summary>The SendTlsReports timer's handler: closes periods and sends their aggregate reports (RFC 8460).</summary>
/// <remarks>
/// Approach, one timer tick:
/// 1. Flush this instance's counts, so the TlsResults table holds everything it saw.
/// 2. For each closed period (end + grace passed, so every instance has flushed it) not yet planned: read its
///    sessions, and insert one plan row per policy domain with a report-id and a random send time (§4.1),
///    insert-if-absent so all instances agree on both.
/// 3. For each plan that is due: look up <c>_smtp._tls.&lt;domain&gt;</c> (§3), build and gzip the report (§4,
///    §5.2), and send it to each rua under an ETag-checked claim row, so it goes out once per (domain,
///    period, rua) whatever the number of instances or repeated ticks.
/// 4. A failed rua is retried with doubling delays for up to 24 h (§5.5); an rua that fails whole periods in
///    a row is suppressed for a while. Nothing here sleeps: later ticks do the waiting.
/// </remarks>
public sealed class TlsReportSender
{
    private readonly TlsReportSettings _settings;
    private readonly TlsResultsFlusher _flusher;
    private readonly TlsResultsStore _results;
    private readonly SentTlsReportsStore _sent;
    private readonly IDnsResolver _dns;
    private readonly TlsReportRuaSender _ruaSender;
    private readonly TimeProvider _time;
    private readonly ILogger<TlsReportSender> _logger;

    /// <summary>Wires the sender.</summary>
    public TlsReportSender(
        TlsReportSettings settings,
        TlsResultsFlusher flusher,
        TlsResultsStore results,
        SentTlsReportsStore sent,
        IDnsResolver dns,
        TlsReportRuaSender ruaSender,
        TimeProvider time,
        ILogger<TlsReportSender> logger)
    {
        _settings = settings;
        _flusher = flusher;
        _results = results;
        _sent = sent;
        _dns = dns;
        _ruaSender = ruaSender;
        _time = time;
        _logger = logger;
    }

    /// <summary>One timer tick.</summary>
    /// <exception cref="RequestFailedException">Storage is unreachable while reading the period markers.</exception>
    public async Task<TlsReportRunResult> RunAsync(CancellationToken cancellationToken)
    {
        var run = new RunCounts();
        if (_settings.Send == TlsReportFrequency.Never)
        {
            return run.ToResult();
        }

        try
        {
            await _flusher.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e)
        {
            TlsReportLog.FlushFailed(_logger, e);
        }

        var now = _time.GetUtcNow();
        var markers = (await _sent.MarkersAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(m => m.RowKey, StringComparer.Ordinal);
        var periods = new List<TlsReportPeriod>();
        for (var p = TlsReportPeriod.Containing(_settings.Send, now).Previous; p.End >= now - TlsReportDefaults.LookBack; p = p.Previous)
        {
            periods.Add(p);
        }

        periods.Reverse();

        // A period whose reports are not all final is finished even after the look-back (a timer that was down
        // for days): its plans give up 24 hours after their first attempt, and then its counts are deleted.
        foreach (var marker in markers.Values.Where(m => !m.Complete && m.PeriodStart < periods.FirstOrDefault()?.Start).OrderBy(m => m.PeriodStart))
        {
            var old = TlsReportPeriod.Containing(_settings.Send, marker.PeriodStart);
            if (old.Key == marker.RowKey)
            {
                periods.Insert(0, old);
            }
        }

        // Retention: a finished period's plans and rua rows go after a while; its session counts went when it finished.
        foreach (var old in markers.Values.Where(m => m.Complete && m.PeriodStart < now - TlsReportDefaults.Retention))
        {
            await _sent.DeletePeriodAsync(old.RowKey, cancellationToken).ConfigureAwait(false);

            // Sessions counted after a period was closed early (SendNowAsync) were never reported: they go too.
            await _results.DeleteAsync(TlsReportPeriod.Containing(_settings.Send, old.PeriodStart).HourKeys(), cancellationToken).ConfigureAwait(false);
        }

        foreach (var period in periods)
        {
            markers.TryGetValue(period.Key, out var marker);
            if (marker is { Complete: true } || period.End + TlsReportDefaults.Grace > now)
            {
                continue;
            }

            try
            {
                Dictionary<TlsSessionKey, long>? sessions = null;
                if (marker is null)
                {
                    sessions = await _results.ReadAsync(period.HourKeys(), cancellationToken).ConfigureAwait(false);
                    marker = await PlanAsync(period, sessions, now, cancellationToken).ConfigureAwait(false);
                    run.PeriodsPlanned++;
                }

                await SendDueAsync(period, marker, sessions, now, run, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException e)
            {
                TlsReportLog.PeriodFailed(_logger, period.Key, e);
            }
        }

        return run.ToResult();
    }

    /// <summary>
    /// The operator's path: closes the period containing <paramref name="at"/> now and sends its reports at once,
    /// without the grace and the random delay (RFC 8460 §4.1's delay protects receivers from a flood at midnight,
    /// not from one operator). Each report still goes once per rua: a period already planned keeps its report-ids
    /// and rua claims, so a second call, or the timer later, sends nothing again.
    /// </summary>
    /// <remarks>
    /// This instance's counts are flushed first; other instances' last minute may be missing. Closing the current
    /// period reports its sessions so far; sessions counted in it afterwards are not reported (and are deleted
    /// with the period's records after the retention).
    /// </remarks>
    /// <param name="at">A time in the period to close (e.g. now, or yesterday for the last daily period).</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>What was sent; <see cref="TlsReportRunResult.PeriodsPlanned"/> is 0 when the period was planned before.</returns>
    /// <exception cref="RequestFailedException">Storage is unreachable.</exception>
    public async Task<TlsReportRunResult> SendNowAsync(DateTimeOffset at, CancellationToken cancellationToken)
    {
        var run = new RunCounts();
        if (_settings.Send == TlsReportFrequency.Never)
        {
            return run.ToResult();
        }

        await _flusher.FlushAsync(cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var period = TlsReportPeriod.Containing(_settings.Send, at);
        var marker = (await _sent.MarkersAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(m => m.RowKey == period.Key);
        if (marker is { Complete: true })
        {
            return run.ToResult();
        }

        Dictionary<TlsSessionKey, long>? sessions = null;
        if (marker is null)
        {
            sessions = await _results.ReadAsync(period.HourKeys(), cancellationToken).ConfigureAwait(false);
            marker = await PlanAsync(period, sessions, now, cancellationToken, immediately: true).ConfigureAwait(false);
            run.PeriodsPlanned++;
        }
        else
        {
            foreach (var plan in await _sent.PlansAsync(period.Key, cancellationToken).ConfigureAwait(false))
            {
                if (plan.State == "pending" && plan.NotBefore > now && plan.FirstAttempt is null)
                {
                    // Only the random delay is skipped; a report already being retried keeps its back-off.
                    plan.NotBefore = now;
                    await _sent.TryUpdateAsync(plan, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        await SendDueAsync(period, marker, sessions, now, run, cancellationToken).ConfigureAwait(false);
        return run.ToResult();
    }

    private async Task<TlsReportPeriodMarker> PlanAsync(
        TlsReportPeriod period, Dictionary<TlsSessionKey, long> sessions, DateTimeOffset now, CancellationToken cancellationToken, bool immediately = false)
    {
        var domains = sessions.Keys.Select(k => k.Policy.Domain.TrimEnd('.').ToLowerInvariant()).Distinct(StringComparer.Ordinal).ToList();

        // Counted from the period's end, not from now: a period planned late (timer down) is not delayed again.
        var earliest = period.End + TlsReportDefaults.Grace;
        var maxDelay = period.End - period.Start < TlsReportDefaults.MaxRandomDelay ? period.End - period.Start : TlsReportDefaults.MaxRandomDelay;
        var plans = domains.Select(d => new TlsReportPlan
        {
            PartitionKey = period.Key,
            RowKey = d,
            ReportId = TlsReportBuilder.NewReportId(period, _settings.Submitter),

            // RFC 8460 §4.1: deliver after a random delay, so that receivers are not flooded at 00:00 UTC.
            NotBefore = immediately ? now : earliest + TimeSpan.FromSeconds(Random.Shared.Next(1, (int)maxDelay.TotalSeconds)),
        }).ToList();
        await _sent.AddPlansAsync(plans, cancellationToken).ConfigureAwait(false);
        var marker = new TlsReportPeriodMarker { RowKey = period.Key, PeriodStart = period.Start, Domains = domains.Count, Complete = domains.Count == 0 };
        await _sent.UpsertMarkerAsync(marker, cancellationToken).ConfigureAwait(false);
        TlsReportLog.Planned(_logger, period.Key, domains.Count);
        return marker;
    }

    private async Task SendDueAsync(
        TlsReportPeriod period, TlsReportPeriodMarker marker, Dictionary<TlsSessionKey, long>? sessions, DateTimeOffset now, RunCounts run, CancellationToken cancellationToken)
    {
        var plans = await _sent.PlansAsync(period.Key, cancellationToken).ConfigureAwait(false);
        var due = plans.Where(p => p.State == "pending" && p.NotBefore <= now).ToList();
        if (due.Count > 0)
        {
            sessions ??= await _results.ReadAsync(period.HourKeys(), cancellationToken).ConfigureAwait(false);
            var byDomain = sessions.GroupBy(s => s.Key.Policy.Domain.TrimEnd('.').ToLowerInvariant(), StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            foreach (var plan in due)
            {
                await SendPlanAsync(period, plan, byDomain.GetValueOrDefault(plan.RowKey) ?? [], now, run, cancellationToken).ConfigureAwait(false);
            }
        }

        if (plans.All(p => p.State == "done"))
        {
            marker.Complete = true;
            await _sent.UpsertMarkerAsync(marker, cancellationToken).ConfigureAwait(false);

            // Every report of the period is final: its session counts are not needed any more.
            await _results.DeleteAsync(period.HourKeys(), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task SendPlanAsync(
        TlsReportPeriod period, TlsReportPlan plan, List<KeyValuePair<TlsSessionKey, long>> sessions, DateTimeOffset now, RunCounts run, CancellationToken cancellationToken)
    {
        var domain = plan.RowKey;
        var answer = await _dns.QueryTxtAsync(TlsRptRecordLookup.NameFor(domain), cancellationToken).ConfigureAwait(false);
        var lookup = answer.Status switch
        {
            DnsStatus.Found => TlsRptRecordLookup.FromTxt(answer.Records),
            DnsStatus.NoRecords or DnsStatus.NotFound => new TlsRptRecordLookup(TlsRptLookupStatus.NoRecord, null, "no TXT record"),
            _ => new TlsRptRecordLookup(TlsRptLookupStatus.DnsError, null, $"{answer.Status} {answer.Error}"),
        };

        // RFC 8460 §5.5: retries for up to 24 hours from the first attempt, whatever failed (lookup or rua).
        plan.FirstAttempt ??= now;
        var deadline = plan.FirstAttempt.Value + TlsReportDefaults.RetryWindow;
        if (lookup.Status == TlsRptLookupStatus.DnsError)
        {
            plan.LookupFailures++;
            var next = now + BackOff(plan.LookupFailures);
            if (next < deadline)
            {
                // A temporary DNS failure: look again on a later tick, with exponential back-off.
                plan.NotBefore = next;
                await _sent.TryUpdateAsync(plan, cancellationToken).ConfigureAwait(false);
                return;
            }

            plan.State = "done";
            plan.Outcome = $"gave up: the TLSRPT record lookup failed {plan.LookupFailures} times over {TlsReportDefaults.RetryWindow.TotalHours:0} hours from {plan.FirstAttempt:u} (last: {lookup.Error})";
            TlsReportLog.NotReported(_logger, plan.ReportId, domain, plan.Outcome);
            run.NotReported++;
            await _sent.TryUpdateAsync(plan, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (lookup.Record is not { } record)
        {
            // RFC 8460 §3: no record, several records or a malformed one: the domain gets no report.
            plan.State = "done";
            plan.Outcome = $"not reported: {lookup.Status} ({lookup.Error})";
            TlsReportLog.NotReported(_logger, plan.ReportId, domain, plan.Outcome);
            run.NotReported++;
            await _sent.TryUpdateAsync(plan, cancellationToken).ConfigureAwait(false);
            return;
        }

        var report = TlsReportBuilder.Build(_settings, period, plan.ReportId, sessions);
        var gzip = TlsRptReportSerializer.SerializeGzip(report);
        var uniqueId = plan.ReportId.Split('@')[0].Split('.')[^1];
        var fileName = TlsRptFileName.Create(_settings.Submitter, domain, report.DateRange, uniqueId, gzip: true);

        var rows = new List<TlsReportDelivery>();
        foreach (var rua in record.ReportingUris.DistinctBy(u => u.OriginalString))
        {
            var result = await _ruaSender.SendAsync(period, plan, rua, report, gzip, fileName, now, cancellationToken, deadline).ConfigureAwait(false);
            rows.Add(result.Row);
            run.Sent += result.Attempt == TlsReportRuaAttempt.Sent ? 1 : 0;
            run.Failed += result.Attempt == TlsReportRuaAttempt.Failed ? 1 : 0;
            var scheme = new KeyValuePair<string, object?>(MtaTelemetry.RuaSchemeTag, rua.Scheme);
            if (result.Attempt == TlsReportRuaAttempt.Sent)
            {
                MtaTelemetry.TlsReportsSent.Add(1, scheme);
            }
            else if (result.Attempt == TlsReportRuaAttempt.Failed)
            {
                MtaTelemetry.TlsReportsFailed.Add(1, scheme);
            }
        }

        if (rows.All(r => r.IsFinal))
        {
            plan.State = "done";
            plan.Outcome = string.Join("; ", rows.Select(r => $"{r.Rua}: {r.State}"));
        }
        else
        {
            var next = rows.Where(r => !r.IsFinal).Select(r => r.State == "retry" ? r.NextAttempt : r.LeaseUntil).Min();
            plan.NotBefore = Max(next, now + TimeSpan.FromSeconds(1));
        }

        await _sent.TryUpdateAsync(plan, cancellationToken).ConfigureAwait(false);
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    /// <summary>RFC 8460 §5.5's exponential back-off: the first retry delay, doubled per failure, up to the largest.</summary>
    internal static TimeSpan BackOff(int failures) => TimeSpan.FromTicks(Math.Min(
        TlsReportDefaults.MaxRetryDelay.Ticks,
        TlsReportDefaults.FirstRetryDelay.Ticks * (1L << Math.Clamp(failures - 1, 0, 20))));

    private sealed class RunCounts
    {
        public int PeriodsPlanned;
        public int Sent;
        public int Failed;
        public int NotReported;

        public TlsReportRunResult ToResult() => new(PeriodsPlanned, Sent, Failed, NotReported);
    }
}
