using System.Security.Cryptography;
using System.Text;
using Azure;
using Microsoft.Extensions.Logging;
using MimeKit;
using MtaFunctions.Client;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Storage;
using MtaFunctions.Core.Telemetry;

namespace MtaFunctions.Core.Delivery;

/// <summary>
/// Handles one message of the <c>outbound</c> queue: the whole delivery path behind the queue trigger.
/// </summary>
/// <remarks>
/// Approach:
/// 1. Parse the envelope strictly; a payload that can never be delivered goes to the poison queue with its
///    reason instead of crash-looping.
/// 2. Read per-recipient state first: a queue message handed out twice (host retry, crash after sending)
///    never sends again to a recipient already final (the queue's dequeue count says when it may have been).
/// 3. Deliver per recipient domain, domains in parallel, each independent of the others.
/// 4. Per domain, in this order: DSN for permanent failures, re-enqueue of deferred recipients with the
///    schedule's delay, then the state rows. A crash between steps repeats work, never loses it.
/// 5. When every recipient of the message is final, the message blob is deleted.
/// </remarks>
public sealed class OutboundDeliveryHandler(
    OutboundSettings settings, OutboundQueueWriter writer, DeliveryStore store, PoisonQueue poison,
    DomainDeliverer deliverer, TimeProvider time, ILogger<OutboundDeliveryHandler> logger, Policy.TlsPolicyResolver policies)
{
    /// <summary>Processes one queue message.</summary>
    /// <param name="payload">The queue message text (already base64-decoded by the trigger).</param>
    /// <param name="dequeueCount">How often the queue has handed this message out.</param>
    /// <param name="cancellationToken">Host shutdown.</param>
    /// <exception cref="RequestFailedException">Storage failed on an early dequeue; the queue retries the message.</exception>
    public async Task HandleAsync(string payload, long dequeueCount, CancellationToken cancellationToken)
    {
        OutboundEnvelope envelope;
        try
        {
            envelope = EnvelopeSerializer.Parse(payload);
        }
        catch (EnvelopeFormatException e)
        {
            await PoisonAsync(payload, e.Message, dequeueCount, cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            await DeliverAsync(envelope, payload, dequeueCount, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (dequeueCount >= QueueLimits.MaxDequeueCount && !cancellationToken.IsCancellationRequested
                                  && e is not OperationCanceledException)
        {
            await PoisonAsync(payload, $"failed {dequeueCount} times, last: {e.GetType().Name}: {e.Message}", dequeueCount, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not OperationCanceledException)
        {
            Log.Failed(logger, e, envelope.Id, dequeueCount);
            throw;
        }
    }

    private async Task DeliverAsync(OutboundEnvelope envelope, string payload, long dequeueCount, CancellationToken cancellationToken)
    {
        MimeMessage message;
        long size;
        try
        {
            var body = await writer.ReadBodyAsync(envelope, cancellationToken).ConfigureAwait(false);
            size = body.Length;
            message = await MimeMessage.LoadAsync(new MemoryStream(body, writable: false), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            await PoisonAsync(payload, $"outbound envelope: messageBlob: blob '{envelope.MessageBlob}' does not exist", dequeueCount, cancellationToken)
                .ConfigureAwait(false);
            return;
        }
        catch (FormatException e)
        {
            await PoisonAsync(payload, $"outbound envelope: message: not an RFC 5322 message ({e.Message})", dequeueCount, cancellationToken)
                .ConfigureAwait(false);
            return;
        }

        // RFC 8689 §5: "TLS-Required: No" asks for delivery without TLS enforcement; the header is removed
        // before relaying (§4.1 lets the sender decide, the receiver has no use for it).
        var tlsRequiredNo = message.Headers[TlsRequiredHeader] is { } value && value.Trim().Equals("No", StringComparison.OrdinalIgnoreCase);
        message.Headers.RemoveAll(TlsRequiredHeader);

        // A first attempt handed out for the first time cannot have state yet: skip the read (one storage
        // transaction per message fewer). Any redelivery (dequeueCount > 1) or retry (attempt > 0) reads it.
        var states = envelope.Attempt == 0 && dequeueCount <= 1
            ? new Dictionary<string, DeliveryRecord>(StringComparer.Ordinal)
            : await store.LoadAsync(envelope.Id, cancellationToken).ConfigureAwait(false);
        var pending = envelope.To
            .Where(r => !(states.TryGetValue(DeliveryRecord.RowKeyFor(r), out var row) && row.ParsedState.IsFinal()))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();

        if (pending.Count > 0)
        {
            using var gate = new SemaphoreSlim(settings.MaxParallelDomains);
            var domains = pending.GroupBy(RecipientDomain).Select(async group =>
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    return await DeliverDomainAsync(envelope, message, size, group.Key, group.ToList(), states, tlsRequiredNo, cancellationToken)
                        .ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            });
            foreach (var rows in await Task.WhenAll(domains).ConfigureAwait(false))
            {
                foreach (var row in rows)
                {
                    states[row.RowKey] = row;
                }
            }
        }

        // Retries of other domains may still need the body; only when the whole message is final does it go.
        if (states.Values.Count(r => r.ParsedState.IsFinal()) >= Math.Max(envelope.RecipientCount, envelope.To.Count))
        {
            await writer.DeleteBodyAsync(envelope, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<List<DeliveryRecord>> DeliverDomainAsync(
        OutboundEnvelope envelope, MimeMessage message, long size, string domain, List<string> recipients,
        IReadOnlyDictionary<string, DeliveryRecord> states, bool tlsRequiredNo, CancellationToken cancellationToken)
    {
        using var activity = MtaTelemetry.Source.StartActivity("mta.delivery.attempt");
        activity?.SetTag("mta.message.id", envelope.Id);
        activity?.SetTag("mta.destination.domain", domain);
        activity?.SetTag("mta.attempt", envelope.Attempt + 1);

        // Recipients an operator cancelled (mta queue cancel) end here, bounced or dropped as asked, unsent.
        var cancelled = recipients.Where(r => CancelRequest(states, r) is not null).ToList();
        recipients = recipients.Except(cancelled, StringComparer.OrdinalIgnoreCase).ToList();

        // A producer that bypassed the client's size check: bounce without trying (RFC 3463 5.3.4).
        IReadOnlyList<RecipientOutcome> outcomes = recipients.Count == 0
            ? []
            : size > settings.MaxMessageSize
            ? recipients.Select(r => new RecipientOutcome(
                r, OutcomeKind.Permanent, $"552 5.3.4 message size {size} exceeds the maximum {settings.MaxMessageSize} ({Configuration.SettingKeys.MaxMessageSize})", null, null, null)).ToList()
            : await deliverer.DeliverAsync(domain, recipients, envelope.From, message, tlsRequiredNo, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var attempt = envelope.Attempt + 1;
        var expiry = envelope.QueuedAt + settings.MessageLifetime;

        // RFC 8461 §5.1: before failing for good under an enforced MTA-STS policy, look for a new policy id
        // (a domain that moved its MX publishes one); if there is one, try once more under it.
        if (now >= expiry && outcomes.Any(o => o.Kind == OutcomeKind.Temporary && o.StsEnforced)
            && await policies.StsPolicyChangedAsync(domain, cancellationToken).ConfigureAwait(false))
        {
            outcomes = await deliverer.DeliverAsync(domain, recipients, envelope.From, message, tlsRequiredNo, cancellationToken).ConfigureAwait(false);
        }

        outcomes = [.. outcomes, .. cancelled.Select(r => new RecipientOutcome(r, OutcomeKind.Permanent, CancelledReply, null, null, null))];

        // Recipients that waited for a slot of the destination's fleet-wide limit go back on the queue with the
        // same attempt number: our own pacing is not a delivery attempt (until the lifetime runs out).
        var throttled = now < expiry ? outcomes.Where(o => o.Kind == OutcomeKind.Throttled).ToList() : [];
        if (throttled.Count > 0)
        {
            var pause = ThrottlePause + TimeSpan.FromMilliseconds(Random.Shared.Next(0, 15_000));
            await writer.EnqueueAsync(envelope with { To = throttled.Select(o => o.Recipient).ToList() }, pause, cancellationToken).ConfigureAwait(false);
            Log.Deferred(logger, envelope.Id, throttled.Count, domain, now + pause);
        }

        // RFC 5321 §4.5.4.1: give up once the message has been queued for its lifetime.
        var final = outcomes.Where(o => !throttled.Contains(o)).Select(o => o.Kind is OutcomeKind.Temporary or OutcomeKind.Throttled && now >= expiry
                ? o with { Kind = OutcomeKind.Permanent, Reply = $"{o.Reply} (gave up: queued longer than {settings.MessageLifetime.TotalHours:0.#}h)" }
                : o)
            .ToList();

        MtaTelemetry.CountOutcomes(final, envelope.QueuedAt, now);
        activity?.SetTag("mta.recipients.delivered", final.Count(o => o.Kind == OutcomeKind.Delivered));
        activity?.SetTag("mta.recipients.deferred", final.Count(o => o.Kind == OutcomeKind.Temporary));
        activity?.SetTag("mta.recipients.failed", final.Count(o => o.Kind == OutcomeKind.Permanent));
        if (final.Any(o => o.Kind != OutcomeKind.Delivered))
        {
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, "not every recipient delivered");
        }

        var failed = final.Where(o => o.Kind == OutcomeKind.Permanent && CancelRequest(states, o.Recipient) != CancelDrop).ToList();
        if (failed.Count > 0 && envelope.From.Length > 0)
        {
            await BounceAsync(envelope, message, domain, attempt, failed, now, cancellationToken).ConfigureAwait(false);
        }

        var deferred = final.Where(o => o.Kind == OutcomeKind.Temporary).ToList();
        DateTimeOffset? nextAttempt = null;
        Azure.Storage.Queues.Models.SendReceipt? receipt = null;
        if (deferred.Count > 0)
        {
            var due = now + settings.RetryDelay(attempt);
            nextAttempt = due > expiry ? expiry : due;
            var retry = envelope with { To = deferred.Select(o => o.Recipient).ToList(), Attempt = attempt };
            receipt = await writer.EnqueueAsync(retry, nextAttempt.Value - now, cancellationToken).ConfigureAwait(false);
            Log.Deferred(logger, envelope.Id, deferred.Count, domain, nextAttempt.Value);
        }

        var rows = final.Select(o => ToRow(envelope, o, states, attempt, now, nextAttempt, receipt))
            .Concat(throttled.Select(o => WaitingRow(envelope, o, states, now)))
            .ToList();
        await store.SaveAsync(rows, cancellationToken).ConfigureAwait(false);
        foreach (var row in rows)
        {
            Log.Outcome(logger, envelope.Id, row.Recipient, row.State, attempt, row.LastReply ?? "");
        }

        return rows;
    }

    private DeliveryRecord ToRow(
        OutboundEnvelope envelope, RecipientOutcome outcome, IReadOnlyDictionary<string, DeliveryRecord> states,
        int attempt, DateTimeOffset now, DateTimeOffset? nextAttempt, Azure.Storage.Queues.Models.SendReceipt? receipt)
    {
        var key = DeliveryRecord.RowKeyFor(outcome.Recipient);
        var previous = states.TryGetValue(key, out var p) ? p.Attempts : 0;
        var cancel = CancelRequest(states, outcome.Recipient);
        var session = outcome.Session;
        var state = outcome.Kind switch
        {
            OutcomeKind.Delivered => DeliveryState.Delivered,
            OutcomeKind.Temporary => DeliveryState.Deferred,
            _ => envelope.From.Length > 0 && cancel != CancelDrop ? DeliveryState.Bounced : DeliveryState.Failed,
        };
        return new DeliveryRecord
        {
            PartitionKey = envelope.Id,
            RowKey = key,
            Recipient = outcome.Recipient,
            State = state.ToString(),
            Attempts = Math.Max(previous, attempt - 1) + 1,
            LastReply = Truncate(outcome.Reply, 2000),
            LastAttemptAt = now,
            NextAttemptAt = state == DeliveryState.Deferred ? nextAttempt : null,
            MxHost = session?.Target.MxHost,
            RemoteIp = session?.Target.Address.ToString(),
            TlsVersion = session?.Tls is { Version: not "none" } tls ? tls.Version : null,
            TlsCipher = session?.Tls?.Cipher,
            CertificateSubject = session?.Tls?.CertificateSubject,
            CertificateVerified = session?.Tls?.Verdict?.Verified,
            PolicyApplied = outcome.PolicyApplied,
            PolicyDetail = outcome.PolicyDetail,
            QueuedAt = envelope.QueuedAt,
            RetryMessageId = state == DeliveryState.Deferred ? receipt?.MessageId : null,
            RetryPopReceipt = state == DeliveryState.Deferred ? receipt?.PopReceipt : null,
            CancelRequested = cancel,
        };
    }

    /// <summary>A recipient waiting for the destination's limit: pending, its attempts unchanged.</summary>
    private static DeliveryRecord WaitingRow(OutboundEnvelope envelope, RecipientOutcome outcome, IReadOnlyDictionary<string, DeliveryRecord> states, DateTimeOffset now)
    {
        var key = DeliveryRecord.RowKeyFor(outcome.Recipient);
        var previous = states.TryGetValue(key, out var p) ? p : null;
        return new DeliveryRecord
        {
            PartitionKey = envelope.Id,
            RowKey = key,
            Recipient = outcome.Recipient,
            State = nameof(DeliveryState.Pending),
            Attempts = previous?.Attempts ?? 0,
            LastReply = Truncate(outcome.Reply, 2000),
            LastAttemptAt = previous?.LastAttemptAt,
            NextAttemptAt = now + ThrottlePause,
            PolicyApplied = outcome.PolicyApplied,
            PolicyDetail = outcome.PolicyDetail,
        };
    }

    private static readonly TimeSpan ThrottlePause = TimeSpan.FromSeconds(15);

    private async Task BounceAsync(
        OutboundEnvelope envelope, MimeMessage message, string domain, int attempt, List<RecipientOutcome> failed,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var dsn = DsnBuilder.Build(
            settings.Hostname, envelope.From, message,
            failed.Select(f => new FailedRecipient(f.Recipient, f.Reply, f.Session?.Target.MxHost)).ToList(),
            envelope.QueuedAt, now);
        using var buffer = new MemoryStream();
        await dsn.WriteToAsync(buffer, cancellationToken).ConfigureAwait(false);

        // A fixed id per (message, attempt, domain): a repeated run queues the same DSN id again, and the
        // delivery of the second copy finds its recipient already final.
        var dsnId = $"{envelope.Id[..Math.Min(envelope.Id.Length, 80)]}-dsn{attempt}-{ShortHash(domain)}";
        await writer.EnqueueNewAsync(dsnId, "", [envelope.From], buffer.ToArray(), now, cancellationToken).ConfigureAwait(false);
        Log.Bounced(logger, envelope.Id, dsnId, failed.Count);
    }

    private async Task PoisonAsync(string payload, string reason, long dequeueCount, CancellationToken cancellationToken)
    {
        Log.Poisoned(logger, reason);
        MtaTelemetry.Poisoned.Add(1);
        await poison.SendAsync(payload, reason, dequeueCount, cancellationToken).ConfigureAwait(false);
    }

    // RFC 8460 §4.4, RFC 5890: the domain in A-labels, once, for every use after this point (DNS, policies,
    // TLS-RPT policy-domain, report file names and headers); the recipient address itself is sent as given.
    private static string RecipientDomain(string recipient)
    {
        var domain = MailAddressSyntax.DomainOf(recipient);
        try
        {
            return Dns.DnsClientResolver.ToAscii(domain);
        }
        catch (ArgumentException)
        {
            // Not a valid IDN: kept as it is; its MX lookup fails and names it.
            return domain;
        }
    }

    private static string ShortHash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..10];

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];

    private static string? CancelRequest(IReadOnlyDictionary<string, DeliveryRecord> states, string recipient) =>
        states.TryGetValue(DeliveryRecord.RowKeyFor(recipient), out var row) ? row.CancelRequested : null;

    private const string TlsRequiredHeader = "TLS-Required";

    /// <summary>The reply recorded (and put in the DSN) for a recipient an operator cancelled.</summary>
    public const string CancelledReply = "550 5.0.0 cancelled by the operator";

    /// <summary><see cref="DeliveryRecord.CancelRequested"/>: end with a DSN to the sender.</summary>
    public const string CancelBounce = "bounce";

    /// <summary><see cref="DeliveryRecord.CancelRequested"/>: end without a DSN.</summary>
    public const string CancelDrop = "drop";
}
