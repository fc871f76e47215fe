using System.Security.Cryptography;
using System.Text;
using Azure;
using Microsoft.Extensions.Logging;
using MimeKit;
using MtaFunctions.Client;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Smtp;
using MtaFunctions.Core.Storage;
using MtaFunctions.Core.Telemetry;

namespace MtaFunctions.Core.Delivery;

/// <summary>
/// Handles one message of the <c>outbound</c> queue: the whole delivery path behind the queue trigger.
/// </summary>
/// <remarks>
/// Approach:
/// 1. Parse the envelope strictly; a payload that can never be delivered goes to the poison queue with its
///    reason instead of crash-looping. A batch (a JSON array of envelopes, <see cref="OutboundQueueWriter"/>)
///    is that for each of its envelopes, delivered at once and each on its own.
/// 2. Read per-recipient state first, always: a queue message handed out twice (host retry, crash after
///    sending, the same envelope queued twice) never sends again to a recipient already final. Two queue
///    messages of one envelope in this process take turns (<see cref="EnvelopeClaims"/>).
/// 3. Deliver per recipient domain, domains in parallel, each independent of the others.
/// 4. Per domain, as soon as its transaction ends: the delivered rows; then DSN for permanent failures,
///    re-enqueue of deferred recipients with the schedule's delay, then their rows. A crash between steps
///    repeats work, never loses it.
/// 5. When every recipient of the message is final, the message blob is deleted.
/// </remarks>
public sealed class OutboundDeliveryHandler(
    OutboundSettings settings, OutboundQueueWriter writer, DeliveryStore store, PoisonQueue poison,
    DomainDeliverer deliverer, TimeProvider time, ILogger<OutboundDeliveryHandler> logger, Policy.TlsPolicyResolver policies,
    InFlightMessages inFlight, EnvelopeClaims claims)
{
    private readonly Action<string> _waitingForOtherCopy = id => Log.WaitingForOtherCopy(logger, id);

    /// <summary>Processes one queue message as the queue trigger hands it over.</summary>
    /// <remarks>
    /// While it runs, the message's id and pop receipt are in this instance's in-flight record, so that a crash
    /// of the process hands it back to the queue within about a minute (<see cref="InFlightRecovery"/>).
    /// </remarks>
    /// <param name="message">The queue message (its body the raw queue text, <c>messageEncoding</c> none).</param>
    /// <param name="cancellationToken">Host shutdown.</param>
    public async Task HandleQueueMessageAsync(Azure.Storage.Queues.Models.QueueMessage message, CancellationToken cancellationToken)
    {
        using var tracked = inFlight.Track(message.MessageId, message.PopReceipt);
        await HandleQueueMessageAsync(message.Body.ToString(), message.DequeueCount, tracked.Written, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Processes one queue message as the queue trigger hands it over: the raw queue text.</summary>
    /// <remarks>
    /// host.json sets <c>messageEncoding</c> to <c>none</c> so that the handler, not the host's decoder, sees a
    /// payload that is not base64: it goes to the poison queue with its reason like any other bad payload.
    /// </remarks>
    /// <param name="queueText">The queue message text: the envelope JSON (or a batch of envelopes), base64 (as producers write it).</param>
    /// <param name="dequeueCount">How often the queue has handed this message out.</param>
    /// <param name="cancellationToken">Host shutdown.</param>
    public Task HandleQueueMessageAsync(string queueText, long dequeueCount, CancellationToken cancellationToken) =>
        HandleQueueMessageAsync(queueText, dequeueCount, Task.CompletedTask, cancellationToken);

    private async Task HandleQueueMessageAsync(string queueText, long dequeueCount, Task inFlightWritten, CancellationToken cancellationToken)
    {
        string payload;
        try
        {
            payload = StrictUtf8.GetString(Convert.FromBase64String(queueText));
        }
        catch (FormatException)
        {
            await PoisonAsync(queueText, "outbound queue message: not base64 (producers write the envelope JSON base64-encoded, QueueMessageEncoding.Base64)",
                dequeueCount, cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (ArgumentException)
        {
            await PoisonAsync(queueText, "outbound queue message: the base64 text does not decode to UTF-8 envelope JSON", dequeueCount, cancellationToken)
                .ConfigureAwait(false);
            return;
        }

        await HandleAsync(payload, dequeueCount, inFlightWritten, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Processes one queue message.</summary>
    /// <param name="payload">The queue message text (already base64-decoded by the trigger).</param>
    /// <param name="dequeueCount">How often the queue has handed this message out.</param>
    /// <param name="cancellationToken">Host shutdown.</param>
    /// <exception cref="RequestFailedException">Storage failed on an early dequeue; the queue retries the message.</exception>
    public Task HandleAsync(string payload, long dequeueCount, CancellationToken cancellationToken) =>
        HandleAsync(payload, dequeueCount, Task.CompletedTask, cancellationToken);

    private async Task HandleAsync(string payload, long dequeueCount, Task inFlightWritten, CancellationToken cancellationToken)
    {
        var envelopes = EnvelopeSerializer.ParsePayload(payload);
        if (envelopes.Count == 1)
        {
            await HandleEnvelopeAsync(envelopes[0], dequeueCount, inFlightWritten, cancellationToken).ConfigureAwait(false);
            return;
        }

        // A batch: each envelope delivered on its own and at once, as if it had come alone, so that one that fails
        // or is poisoned leaves the others' deliveries as they are. A failure hands the whole queue message back;
        // taken again, the envelopes already final are not sent again (their rows are read first, as always).
        // Inline bodies are in the queue message already: at most 48 KiB in all. A body in a blob can be 25 MB, so
        // the blob-bodied envelopes of a batch (another producer may write such a batch; ours sends them alone) go
        // one at a time: one queue message never holds more than one large body in memory.
        using var gate = new SemaphoreSlim(MaxParallelEnvelopes);
        using var blobGate = new SemaphoreSlim(1);
        var failures = new List<Exception>();
        await Task.WhenAll(envelopes.Select(async envelope =>
        {
            var own = envelope.Envelope?.MessageBlob is null ? gate : blobGate;
            await own.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await HandleEnvelopeAsync(envelope, dequeueCount, inFlightWritten, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                lock (failures)
                {
                    failures.Add(e);
                }
            }
            finally
            {
                own.Release();
            }
        })).ConfigureAwait(false);
        if (failures.Count == 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failures[0]);
        }

        if (failures.Count > 1)
        {
            throw new AggregateException($"{failures.Count} of the {envelopes.Count} envelopes of a batch failed", failures);
        }
    }

    // Bounds the inline envelopes of one batch delivered at once (parsed messages, SMTP sessions).
    private const int MaxParallelEnvelopes = 32;

    private async Task HandleEnvelopeAsync(QueuedEnvelope queued, long dequeueCount, Task inFlightWritten, CancellationToken cancellationToken)
    {
        if (queued.Envelope is not { } envelope)
        {
            await PoisonAsync(queued.Json, queued.Problem!.Message, dequeueCount, cancellationToken).ConfigureAwait(false);
            return;
        }

        var payload = queued.Json;

        // A run that fails at our limit poisons the message below; one handed out more often than that never got
        // to a result (the host was killed or timed out while delivering it, each time): poisoned with that
        // reason by us rather than as it is by the listener, its recipients shown failed. Recipients already
        // final keep their rows; an envelope whose recipients are all final (a batch's others, a message
        // delivered but not yet deleted when the host stopped) ends quietly.
        if (dequeueCount > QueueLimits.MaxDequeueCount)
        {
            if (await EveryRecipientKnownFinalAsync(envelope, dequeueCount, cancellationToken).ConfigureAwait(false))
            {
                Log.FinalWhenTakenTooOften(logger, envelope.Id, dequeueCount);
                return;
            }

            await PoisonAsync(envelope, payload, $"taken {dequeueCount} times without a result: the host stopped (killed, crashed or timed out) while delivering it",
                dequeueCount, cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            await DeliverAsync(envelope, payload, dequeueCount, inFlightWritten, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (dequeueCount >= QueueLimits.MaxDequeueCount && !cancellationToken.IsCancellationRequested
                                  && e is not OperationCanceledException)
        {
            await PoisonAsync(envelope, payload, $"failed {dequeueCount} times, last: {e.GetType().Name}: {e.Message}", dequeueCount, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not OperationCanceledException)
        {
            Log.Failed(logger, e, envelope.Id, dequeueCount);
            throw;
        }
    }

    private async Task DeliverAsync(OutboundEnvelope envelope, string payload, long dequeueCount, Task inFlightWritten, CancellationToken cancellationToken)
    {
        RelayMessage relay;
        MimeMessage message;
        long size;
        try
        {
            var body = await writer.ReadBodyAsync(envelope, cancellationToken).ConfigureAwait(false);
            size = body.Length;
            relay = RelayMessage.FromQueued(body);
            message = relay.Parse();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // The body goes once every recipient is final: another queue message of this envelope (a producer's
            // retried enqueue) got here first and left nothing to send. Only a body missing otherwise is an error.
            if (await EveryRecipientFinalAsync(envelope, cancellationToken).ConfigureAwait(false))
            {
                Log.AlreadyFinal(logger, envelope.Id);
                return;
            }

            await PoisonAsync(envelope, payload, $"outbound envelope: messageBlob: blob '{envelope.MessageBlob}' does not exist", dequeueCount, cancellationToken)
                .ConfigureAwait(false);
            return;
        }
        catch (FormatException e)
        {
            await PoisonAsync(envelope, payload, $"outbound envelope: message: not an RFC 5322 message ({e.Message})", dequeueCount, cancellationToken)
                .ConfigureAwait(false);
            return;
        }

        // RFC 5321 §4.5.3.1.6: a line is at most 998 octets. Folding it in flight would change what the producer
        // signed and wrote; the client library refuses such messages at enqueue, this catches other producers.
        if (relay.LongestLine > RelayMessage.MaxLineLength)
        {
            await PoisonAsync(envelope, payload, $"outbound envelope: message: a line of {relay.LongestLine} octets; at most {RelayMessage.MaxLineLength} are allowed (RFC 5321 §4.5.3.1.6)",
                dequeueCount, cancellationToken).ConfigureAwait(false);
            return;
        }

        // RFC 8689 §5: "TLS-Required: No" asks for delivery without TLS enforcement; the header is removed
        // before relaying (§4.1 lets the sender decide, the receiver has no use for it).
        var tlsRequiredNo = relay.HeaderValue(TlsRequiredHeader) is { } value && value.Equals("No", StringComparison.OrdinalIgnoreCase);
        relay = relay.WithoutHeader(TlsRequiredHeader).Prepend(ReceivedField.For(settings.Hostname, envelope.Id, time.GetUtcNow(), envelope.Submitter));

        // Never twice: the state is read for every queue message, whatever its attempt and dequeue count. The
        // same envelope can arrive twice with a fresh dequeue count (a producer retrying its enqueue, a DSN
        // re-queued after a crash); a recipient already final is never sent again. Cost: one table read.
        // The two copies usually come in one batch and run at once: the claim makes the second wait until the
        // first has written its rows and ended, so it reads them (held until the body is deleted, too).
        using var claim = await claims.TakeAsync(envelope.Id, _waitingForOtherCopy, cancellationToken).ConfigureAwait(false);
        var states = await store.LoadAsync(envelope, cancellationToken).ConfigureAwait(false);
        var pending = envelope.To
            .Where(r => !IsSettled(states, r))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();

        if (pending.Count > 0)
        {
            // Nothing is sent before this instance's in-flight row lists the message: killed after the send, it is
            // handed back within a minute instead of the listener's 10 (InFlightRecovery). The reads above ran
            // meanwhile; the row write is shared with every message taken at about the same time.
            // An aid, never a stop: a row write that hangs (storage slow or failing) holds the send at most this long.
            try
            {
                await inFlightWritten.WaitAsync(InFlightRecovery.MaxSendWait, time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Log.InFlightWriteLate(logger, envelope.Id, InFlightRecovery.MaxSendWait);
            }

            using var gate = new SemaphoreSlim(settings.MaxParallelDomains);
            var domains = pending.GroupBy(RecipientDomain).Select(async group =>
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    return await DeliverDomainAsync(envelope, relay, message, size, group.Key, group.ToList(), states, tlsRequiredNo, cancellationToken)
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
                    states[DeliveryKeys.RecipientKeyOf(row)] = row;
                }
            }
        }

        // Retries of other domains may still need the body; only when the whole message is final does it go.
        if (states.Values.Count(r => r.ParsedState.IsFinal()) >= Math.Max(envelope.RecipientCount, envelope.To.Count))
        {
            await writer.DeleteBodyAsync(envelope, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<bool> EveryRecipientFinalAsync(OutboundEnvelope envelope, CancellationToken cancellationToken)
    {
        var states = await store.LoadAsync(envelope, cancellationToken).ConfigureAwait(false);
        return envelope.To.All(r => IsSettled(states, r));
    }

    // False when the state cannot be read: the message is poisoned then rather than handed out once more.
    private async Task<bool> EveryRecipientKnownFinalAsync(OutboundEnvelope envelope, long dequeueCount, CancellationToken cancellationToken)
    {
        try
        {
            return await EveryRecipientFinalAsync(envelope, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is RequestFailedException or IOException or HttpRequestException or TimeoutException)
        {
            Log.PoisonStateUnknown(logger, e, envelope.Id, dequeueCount);
            return false;
        }
    }

    // Final and attempted: never sent again (a poisoned message's rows are final but were never attempted).
    private static bool IsSettled(IReadOnlyDictionary<string, DeliveryRecord> states, string recipient) =>
        states.TryGetValue(DeliveryKeys.RecipientKey(recipient), out var row) && row.ParsedState.IsFinal() && !IsPoisonRow(row);

    private async Task<List<DeliveryRecord>> DeliverDomainAsync(
        OutboundEnvelope envelope, RelayMessage relay, MimeMessage message, long size, string domain, List<string> recipients,
        IReadOnlyDictionary<string, DeliveryRecord> states, bool tlsRequiredNo, CancellationToken cancellationToken)
    {
        using var activity = MtaTelemetry.Source.StartActivity("mta.delivery.attempt");
        activity?.SetTag("mta.message.id", envelope.Id);
        activity?.SetTag("mta.destination.domain", domain);
        activity?.SetTag("mta.attempt", envelope.Attempt + 1);

        // Recipients an operator cancelled (mta queue cancel) end here, bounced or dropped as asked, unsent.
        var cancelled = recipients.Where(r => CancelRequest(states, r) is not null).ToList();
        recipients = recipients.Except(cancelled, StringComparer.OrdinalIgnoreCase).ToList();

        var attempt = envelope.Attempt + 1;
        var expiry = envelope.QueuedAt + settings.MessageLifetime;

        // A narrow window: the write of a delivered recipient's row starts the moment its transaction's 250 is
        // read, before any other I/O of this delivery (QUIT, the next transaction of a long recipient list), so a
        // crash once it is written never sends it again. Bounced and deferred rows wait for their DSN and retry
        // message: recorded first, a crash in between would lose those. The write does not hold the connection:
        // the next message's transaction on it runs meanwhile (awaiting it there put a storage round trip into
        // every message's turn on a destination's connections); it is awaited before this delivery goes on.
        var recorded = new List<DeliveryRecord>();
        var recording = new List<Task>();
        Task RecordDeliveredAsync(IReadOnlyList<RecipientOutcome> decided)
        {
            var rows = decided.Where(o => o.Kind == OutcomeKind.Delivered)
                .Select(o => ToRow(envelope, o, states, attempt, time.GetUtcNow(), null, null))
                .ToList();
            if (rows.Count > 0)
            {
                recording.Add(SaveDeliveredAsync(rows));
            }

            return Task.CompletedTask;
        }

        async Task<IReadOnlyList<RecipientOutcome>> DeliverRecordingAsync()
        {
            try
            {
                return await deliverer.DeliverAsync(domain, recipients, envelope.From, relay, tlsRequiredNo, cancellationToken, RecordDeliveredAsync).ConfigureAwait(false);
            }
            finally
            {
                await Task.WhenAll(recording).ConfigureAwait(false);
            }
        }

        async Task SaveDeliveredAsync(List<DeliveryRecord> rows)
        {
            await SaveRowsAsync(envelope.Id, rows, cancellationToken).ConfigureAwait(false);
            lock (recorded)
            {
                recorded.AddRange(rows);
            }
        }

        // A producer that bypassed the client's size check: bounce without trying (RFC 3463 5.3.4).
        IReadOnlyList<RecipientOutcome> outcomes = recipients.Count == 0
            ? []
            : size > settings.MaxMessageSize
            ? recipients.Select(r => new RecipientOutcome(
                r, OutcomeKind.Permanent, $"552 5.3.4 message size {size} exceeds the maximum {settings.MaxMessageSize} ({Configuration.SettingKeys.MaxMessageSize})", null, null, null)).ToList()
            : await DeliverRecordingAsync().ConfigureAwait(false);
        var now = time.GetUtcNow();

        // RFC 8461 §5.1: before failing for good under an enforced MTA-STS policy, look for a new policy id
        // (a domain that moved its MX publishes one); if there is one, try once more under it.
        if (now >= expiry && outcomes.Any(o => o.Kind == OutcomeKind.Temporary && o.StsEnforced)
            && await policies.StsPolicyChangedAsync(domain, cancellationToken).ConfigureAwait(false))
        {
            outcomes = await DeliverRecordingAsync().ConfigureAwait(false);
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

        var deferred = final.Where(o => o.Kind == OutcomeKind.Temporary).ToList();
        DateTimeOffset? nextAttempt = null;
        Azure.Storage.Queues.Models.SendReceipt? receipt = null;
        if (deferred.Count > 0)
        {
            var due = now + settings.RetryDelay(attempt);
            nextAttempt = due > expiry ? expiry : due;
        }

        // Delivered recipients were recorded as their transactions ended; this catches any outcome that did
        // not come through a transaction's callback.
        var delivered = final.Where(o => o.Kind == OutcomeKind.Delivered)
            .Select(o => recorded.Find(r => DeliveryKeys.RecipientKeyOf(r) == DeliveryKeys.RecipientKey(o.Recipient)) ?? ToRow(envelope, o, states, attempt, now, nextAttempt, null))
            .ToList();
        var unrecorded = delivered.Except(recorded).ToList();
        if (unrecorded.Count > 0)
        {
            await SaveRowsAsync(envelope.Id, unrecorded, cancellationToken).ConfigureAwait(false);
        }

        var failed = final.Where(o => o.Kind == OutcomeKind.Permanent && CancelRequest(states, o.Recipient) != CancelDrop).ToList();
        if (failed.Count > 0 && envelope.From.Length > 0)
        {
            await BounceAsync(envelope, message, domain, attempt, failed, now, cancellationToken).ConfigureAwait(false);
        }

        if (nextAttempt is { } next)
        {
            var retry = envelope with { To = deferred.Select(o => o.Recipient).ToList(), Attempt = attempt };
            receipt = await writer.EnqueueAsync(retry, next - now, cancellationToken).ConfigureAwait(false);
            Log.Deferred(logger, envelope.Id, deferred.Count, domain, next);
        }

        var rest = final.Where(o => o.Kind != OutcomeKind.Delivered).Select(o => ToRow(envelope, o, states, attempt, now, nextAttempt, receipt))
            .Concat(throttled.Select(o => WaitingRow(envelope, o, states, now)))
            .ToList();
        if (rest.Count > 0)
        {
            await SaveRowsAsync(envelope.Id, rest, cancellationToken).ConfigureAwait(false);
        }

        var rows = delivered.Concat(rest).ToList();
        foreach (var row in rows)
        {
            Log.Outcome(logger, envelope.Id, row.Recipient, row.State, attempt, row.LastReply ?? "");
        }

        return rows;
    }

    // After a 250 a lost state write means a second copy later: retry it here a few times before the
    // message as a whole is handed back to the queue.
    private async Task SaveRowsAsync(string messageId, List<DeliveryRecord> rows, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await store.SaveAsync(rows, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (attempt < StateWriteAttempts && !cancellationToken.IsCancellationRequested
                                      && e is RequestFailedException or IOException or HttpRequestException or TimeoutException)
            {
                Log.StateWriteRetry(logger, e, messageId, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(250 * (1 << attempt)), time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private DeliveryRecord ToRow(
        OutboundEnvelope envelope, RecipientOutcome outcome, IReadOnlyDictionary<string, DeliveryRecord> states,
        int attempt, DateTimeOffset now, DateTimeOffset? nextAttempt, Azure.Storage.Queues.Models.SendReceipt? receipt)
    {
        var key = DeliveryKeys.RecipientKey(outcome.Recipient);
        var previous = states.TryGetValue(key, out var p) ? p.Attempts : 0;
        var cancel = CancelRequest(states, outcome.Recipient);
        var session = outcome.Session;
        var state = outcome.Kind switch
        {
            OutcomeKind.Delivered => DeliveryState.Delivered,
            OutcomeKind.Temporary => DeliveryState.Deferred,
            _ => envelope.From.Length > 0 && cancel != CancelDrop ? DeliveryState.Bounced : DeliveryState.Failed,
        };
        return new DeliveryRecord(envelope.Id, outcome.Recipient)
        {
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
        var key = DeliveryKeys.RecipientKey(outcome.Recipient);
        var previous = states.TryGetValue(key, out var p) ? p : null;
        return new DeliveryRecord(envelope.Id, outcome.Recipient)
        {
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

    // Visible failures: every recipient not already final gets a Failed row carrying the reason, so status
    // tells a poisoned message from a queued one. The poison queue entry is the record that matters; a
    // failing table does not stop it.
    private async Task PoisonAsync(OutboundEnvelope envelope, string payload, string reason, long dequeueCount, CancellationToken cancellationToken)
    {
        await PoisonAsync(payload, reason, dequeueCount, cancellationToken).ConfigureAwait(false);
        try
        {
            var states = await store.LoadAsync(envelope.Id, cancellationToken).ConfigureAwait(false);
            var now = time.GetUtcNow();
            var rows = envelope.To.Distinct(StringComparer.OrdinalIgnoreCase)
                .Where(r => !(states.TryGetValue(DeliveryKeys.RecipientKey(r), out var row) && row.ParsedState.IsFinal()))
                .Select(r => new DeliveryRecord(envelope.Id, r)
                {
                    State = nameof(DeliveryState.Failed),
                    Attempts = states.TryGetValue(DeliveryKeys.RecipientKey(r), out var previous) ? previous.Attempts : 0,
                    LastReply = Truncate(PoisonReplyPrefix + reason, 2000),
                    LastAttemptAt = now,
                })
                .ToList();
            if (rows.Count > 0)
            {
                await store.SaveAsync(rows, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (RequestFailedException e)
        {
            Log.PoisonStatusFailed(logger, e, envelope.Id);
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    // A poisoned message's rows say "failed" for status, but were never attempted: a message an operator puts
    // back on the queue (mta poison requeue) is delivered.
    private static bool IsPoisonRow(DeliveryRecord row) => row.Attempts == 0 && row.LastReply?.StartsWith(PoisonReplyPrefix, StringComparison.Ordinal) == true;

    private const string PoisonReplyPrefix = "poisoned: ";

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
        states.TryGetValue(DeliveryKeys.RecipientKey(recipient), out var row) ? row.CancelRequested : null;

    private const string TlsRequiredHeader = "TLS-Required";

    private const int StateWriteAttempts = 5;

    /// <summary>The reply recorded (and put in the DSN) for a recipient an operator cancelled.</summary>
    public const string CancelledReply = "550 5.0.0 cancelled by the operator";

    /// <summary><see cref="DeliveryRecord.CancelRequested"/>: end with a DSN to the sender.</summary>
    public const string CancelBounce = "bounce";

    /// <summary><see cref="DeliveryRecord.CancelRequested"/>: end without a DSN.</summary>
    public const string CancelDrop = "drop";
}
