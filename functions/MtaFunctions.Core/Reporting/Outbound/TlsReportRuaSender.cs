using Azure;
using Microsoft.Extensions.Logging;
using MimeKit.Cryptography;
using MtaFunctions.Client;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Core.Reporting.Outbound;

/// <summary>What one <see cref="TlsReportRuaSender.SendAsync"/> call did.</summary>
public enum TlsReportRuaAttempt
{
    /// <summary>Nothing: already final, not due, claimed by another instance, suppressed or too large.</summary>
    None,

    /// <summary>Handed over: queued (mailto:) or accepted with a 2xx (https:).</summary>
    Sent,

    /// <summary>Tried and failed; retried later or given up.</summary>
    Failed,
}

/// <summary>The rua row after a send and what the send did.</summary>
/// <param name="Row">The row.</param>
/// <param name="Attempt">What this call did.</param>
public sealed record TlsReportRuaResult(TlsReportDelivery Row, TlsReportRuaAttempt Attempt);

/// <summary>Sends one report to one rua, once: claim, mailto: or https:, retry with back-off, suppression.</summary>
/// <remarks>
/// The claim is a <see cref="TlsReportDelivery"/> row inserted with If-None-Match and changed with ETags: only the
/// instance whose insert or update succeeded sends. A claim not finished within
/// <see cref="TlsReportDefaults.ClaimLease"/> belongs to an instance that died and is taken over.
/// Spec note: a crash between handing the report over (queue write or 2xx) and recording it sends it once more
/// after the lease; the copy has the same report-id and, for mail, the same Message-ID, so receivers can tell.
/// </remarks>
public sealed class TlsReportRuaSender : IDisposable
{
    private readonly TlsReportSettings _settings;
    private readonly SentTlsReportsStore _sent;
    private readonly TlsReportHttpPoster _poster;
    private readonly OutboundQueueWriter _outbound;
    private readonly TimeProvider _time;
    private readonly ILogger<TlsReportRuaSender> _logger;
    private readonly IReadOnlyList<DkimSigner> _signers;

    /// <summary>Wires the sender; DKIM keys are loaded here.</summary>
    public TlsReportRuaSender(
        TlsReportSettings settings,
        SentTlsReportsStore sent,
        TlsReportHttpPoster poster,
        OutboundQueueWriter outbound,
        TimeProvider time,
        ILogger<TlsReportRuaSender> logger)
    {
        _settings = settings;
        _sent = sent;
        _poster = poster;
        _outbound = outbound;
        _time = time;
        _logger = logger;
        _signers = settings.Sign.Select(DkimSignerFactory.Create).ToList();
    }

    /// <summary>Sends <paramref name="report"/> to <paramref name="rua"/> unless that is done, claimed or not due.</summary>
    /// <returns>The rua row as it stands after this call (final, retrying, or another instance's claim) and what this call did.</returns>
    /// <exception cref="RequestFailedException">The SentTlsReports table is unreachable.</exception>
    public async Task<TlsReportRuaResult> SendAsync(
        TlsReportPeriod period, TlsReportPlan plan, Uri rua, TlsRptReport report, byte[] gzip, string fileName,
        DateTimeOffset now, CancellationToken cancellationToken, DateTimeOffset? deadline = null)
    {
        var domain = plan.RowKey;
        var ruaText = rua.OriginalString;
        var isMail = rua.Scheme == Uri.UriSchemeMailto;
        var recipient = isMail ? Uri.UnescapeDataString(ruaText[7..].Split('?')[0]) : null;
        byte[]? mail = recipient is null
            ? null
            : TlsReportMail.ToBytes(TlsReportMail.Create(_settings, _signers, report, domain, recipient, gzip, fileName, now));
        var size = mail?.LongLength ?? gzip.LongLength;

        var rowKey = SentTlsReportsStore.DeliveryRow(domain, ruaText);
        var row = await _sent.DeliveryAsync(period.Key, rowKey, cancellationToken).ConfigureAwait(false);
        TlsReportRuaHealth? health = null;
        if (row is null)
        {
            row = new TlsReportDelivery
            {
                PartitionKey = SentTlsReportsStore.DeliveryPartition(period.Key),
                RowKey = rowKey,
                Domain = domain,
                Rua = ruaText,
                ReportId = plan.ReportId,
                State = "sending",
                Attempts = 1,
                FirstAttempt = now,
                NextAttempt = now,
                LeaseUntil = now + TlsReportDefaults.ClaimLease,
                Size = size,
            };

            health = await _sent.HealthAsync(ruaText, cancellationToken).ConfigureAwait(false);
            if (health.SuppressedUntil > now)
            {
                row.State = "suppressed";
                row.LastError = $"rua suppressed until {health.SuppressedUntil:u} after {health.FailedPeriods} failed periods";
            }
            else if (size > _settings.MaxSize)
            {
                row.State = "too-large";
                row.LastError = $"{size} bytes > MaxSize {_settings.MaxSize}";
                TlsReportLog.TooLarge(_logger, plan.ReportId, domain, size, _settings.MaxSize, ruaText);
            }

            if (!await _sent.TryAddAsync(row, cancellationToken).ConfigureAwait(false))
            {
                // Another instance claimed it first: theirs to send.
                return new(await _sent.DeliveryAsync(period.Key, rowKey, cancellationToken).ConfigureAwait(false) ?? row, TlsReportRuaAttempt.None);
            }

            if (row.IsFinal)
            {
                return new(row, TlsReportRuaAttempt.None);
            }
        }
        else if (row.IsFinal
                 || (row.State == "sending" && row.LeaseUntil > now)
                 || (row.State == "retry" && row.NextAttempt > now))
        {
            return new(row, TlsReportRuaAttempt.None);
        }
        else
        {
            // A due retry, or a claim whose instance died half-way: take it over (ETag-checked).
            if (now >= GiveUpAt(row, deadline))
            {
                await GiveUpAsync(row, now, cancellationToken).ConfigureAwait(false);
                return new(row, TlsReportRuaAttempt.None);
            }

            row.State = "sending";
            row.Attempts++;
            row.LeaseUntil = now + TlsReportDefaults.ClaimLease;
            if (!await _sent.TryUpdateEntityAsync(row, cancellationToken).ConfigureAwait(false))
            {
                return new(await _sent.DeliveryAsync(period.Key, rowKey, cancellationToken).ConfigureAwait(false) ?? row, TlsReportRuaAttempt.None);
            }
        }

        string? error;
        if (mail is not null)
        {
            // Our own outbound queue; the message says TLS-Required: No, so the delivery neither enforces
            // policies for it (RFC 8460 §3) nor counts its sessions (no report loops).
            var id = $"tlsrpt-{period.Key}-{SentTlsReportsStore.Hash(domain + "!" + ruaText)}-{row.Attempts}";
            try
            {
                await _outbound.EnqueueNewAsync(id, _settings.FromAddress, [recipient!], mail, now, cancellationToken).ConfigureAwait(false);
                error = null;
            }
            catch (RequestFailedException e)
            {
                error = "queue: " + e.Message;
            }
        }
        else
        {
            error = await _poster.PostAsync(rua, gzip, cancellationToken).ConfigureAwait(false);
        }

        var after = _time.GetUtcNow();
        if (error is null)
        {
            row.State = "sent";
            row.SentAt = after;
            row.LastError = null;
            TlsReportLog.Sent(_logger, plan.ReportId, domain, ruaText, size);
            await _sent.TryUpdateEntityAsync(row, cancellationToken).ConfigureAwait(false);
            // The health read at the claim is fresh enough; a retry reads it again.
            health ??= await _sent.HealthAsync(ruaText, cancellationToken).ConfigureAwait(false);
            if (health.FailedPeriods > 0 || health.SuppressedUntil is not null)
            {
                health.FailedPeriods = 0;
                health.SuppressedUntil = null;
                await _sent.UpsertHealthAsync(health, cancellationToken).ConfigureAwait(false);
            }

            return new(row, TlsReportRuaAttempt.Sent);
        }

        row.LastError = error;
        TlsReportLog.SendFailed(_logger, plan.ReportId, domain, ruaText, row.Attempts, error);

        // RFC 8460 §5.5: retry for up to 24 hours, with exponential back-off.
        var delay = TlsReportSender.BackOff(row.Attempts);
        if (after + delay >= GiveUpAt(row, deadline))
        {
            await GiveUpAsync(row, after, cancellationToken).ConfigureAwait(false);
            return new(row, TlsReportRuaAttempt.Failed);
        }

        row.State = "retry";
        row.NextAttempt = after + delay;
        await _sent.TryUpdateEntityAsync(row, cancellationToken).ConfigureAwait(false);
        return new(row, TlsReportRuaAttempt.Failed);
    }

    /// <summary>24 hours after the rua's first attempt, and never after the report's own deadline (its first attempt + 24 hours).</summary>
    private static DateTimeOffset GiveUpAt(TlsReportDelivery row, DateTimeOffset? deadline)
    {
        var own = row.FirstAttempt + TlsReportDefaults.RetryWindow;
        return deadline is { } d && d < own ? d : own;
    }

    private async Task GiveUpAsync(TlsReportDelivery row, DateTimeOffset now, CancellationToken cancellationToken)
    {
        row.State = "gave-up";
        row.LastError = $"gave up after {row.Attempts} attempts in {TlsReportDefaults.RetryWindow.TotalHours:0} hours; last: {row.LastError}";
        if (!await _sent.TryUpdateEntityAsync(row, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        TlsReportLog.GaveUp(_logger, row.ReportId, row.Domain, row.Rua, row.Attempts);
        var health = await _sent.HealthAsync(row.Rua, cancellationToken).ConfigureAwait(false);
        health.FailedPeriods++;
        if (health.FailedPeriods >= TlsReportDefaults.FailedPeriodsBeforeSuppression)
        {
            // An endpoint that never accepts: stop sending for a while (RFC 8460 §7: rua endpoints can be
            // unwilling; real reporters got listed for mailing dead addresses).
            health.SuppressedUntil = now + TlsReportDefaults.Suppression;
            TlsReportLog.Suppressed(_logger, row.Rua, health.FailedPeriods, health.SuppressedUntil.Value);
        }

        await _sent.UpsertHealthAsync(health, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => _poster.Dispose();
}
