using Azure;
using Azure.Storage.Queues;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Core.Delivery;

/// <summary>
/// Prompt crash recovery: the outbound messages of an instance that died are made visible again, and the
/// destination connection slots it held are freed, within about a minute (at once when it is restarted on the same
/// machine), instead of after the queue listener's fixed ten minutes and the slots' own lapse.
/// </summary>
/// <remarks>
/// Why: the WebJobs storage-queue listener (Microsoft.Azure.WebJobs.Extensions.Storage.Queues 5.x, used by the
/// Functions host and by LocalHost alike) receives every message with a visibility timeout of 10 minutes,
/// hard-coded (QueueListener: <c>_visibilityTimeout = TimeSpan.FromMinutes(10)</c>; host.json's
/// <c>visibilityTimeout</c> is only the delay after a failed run), and renews it every 5 minutes while the
/// function runs. A killed instance's messages therefore stay invisible for up to 10 minutes.
/// <para>
/// Why not shorten the visibility from the handler: any update of a message changes its pop receipt, after
/// which the listener's own delete fails (it logs a pop-receipt mismatch and leaves the message), so the handler
/// would also have to delete it itself: two more storage operations per message. Instead each instance writes
/// one row (table <c>InFlight</c>) with the ids and pop receipts of what it is working on, as soon as it takes a
/// message but at most every <see cref="PublishSpacing"/>, and at least every <see cref="HeartbeatInterval"/>
/// (finished messages leave the row then). A message is not sent before a written row lists it
/// (<see cref="InFlightMessages.Tracked.Written"/>, awaited by the handler just before the SMTP session, while the
/// state and body reads have run meanwhile): one write covers every message taken since the previous one, so a
/// message waits at most <see cref="PublishSpacing"/> plus one table write. Every instance looks at the
/// other rows every <see cref="ScanInterval"/>, and for a row whose heartbeat is older than <see cref="StaleAfter"/>
/// it deletes the row (with its ETag, so one instance wins), frees the connection slots the instance holds in
/// <c>DestinationLimits</c> and has stopped renewing (<see cref="DestinationLimitStore.FreeSlotsOfAsync"/>) and
/// sets each listed message's visibility to zero with the recorded pop receipt. Cost: one table write per batch
/// of messages taken together, at most 50 per second and instance (so at most one per message when messages come
/// one by one, far less than one when they come in batches), one per 10 s when idle, and one query per 10 s;
/// per dead instance, one query over <c>DestinationLimits</c> and one delete per slot it held. Nothing per
/// message or per connection: a slot row names its instance anyway.
/// </para>
/// <para>
/// Dead without waiting: each row also names the process that writes it (<see cref="ProcessStamp"/>: boot, PID
/// namespace, PID, start time). A process on the same machine that sees that process gone (its PID free, a zombie or
/// another process's) recovers the row at its next scan, heartbeat or not: a host restarted after a crash (the first
/// scan runs as it starts) gets its predecessor's messages and connection slots back at once, where waiting for
/// silence would cost <see cref="StaleAfter"/> plus a scan, and waiting for the slots to lapse up to
/// <see cref="DestinationLimiter.SlotHold"/>. Nothing short of that proof counts: a running process, another machine,
/// another PID namespace or an unreadable <c>/proc</c> leaves only silence as evidence.
/// </para>
/// <para>
/// Limits (the listener's, not ours to change: it receives, hides and renews messages itself and tells the
/// function nothing before handing a message over): a message the listener fetched that never reached the handler
/// before the crash (fetched in a batch, waiting for a free slot) is in no row and waits the listener's 10 minutes;
/// so does one whose pop receipt the listener renewed (a run over 5 minutes: the row holds the old receipt). A
/// message that reached the handler is never sent before it is in the row. An
/// instance stalled longer than <see cref="StaleAfter"/> without writing (not killed) has its messages handed out
/// again while it still works on them; the state read before sending (never twice) keeps recipients already
/// final from being sent again, as for any redelivery. Its slots are not freed on silence alone: only those it
/// has not renewed for <see cref="DestinationLimiter.RenewedByTheLiving"/> (a live holder renews every
/// <see cref="DestinationLimiter.RenewEvery"/>), so a slot whose holder lives is never freed; the others lapse.
/// </para>
/// </remarks>
public sealed class InFlightRecovery(
    InFlightMessages inFlight, InFlightStore store, DestinationLimitStore limits, StorageAccount storage, TimeProvider time, ILogger<InFlightRecovery> logger)
    : BackgroundService
{
    /// <summary>Shortest time between two writes of this instance's row.</summary>
    /// <remarks>
    /// Every send waits for a write, so this is latency on every message: at 100 ms the delivery benchmark lost
    /// 15% of its rate (97-100 against 114-117 msg/s without the wait), at 20 ms none (120-124 msg/s), and the
    /// writes stayed at 0.06 per message because the queue listener hands out messages in batches.
    /// </remarks>
    public static readonly TimeSpan PublishSpacing = TimeSpan.FromMilliseconds(20);

    /// <summary>Longest time between two writes while the instance lives (its heartbeat).</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait of a message for the row that lists it before it is sent anyway (storage slow or failing).</summary>
    public static readonly TimeSpan MaxSendWait = TimeSpan.FromSeconds(30);

    /// <summary>How often other instances' rows are read.</summary>
    public static readonly TimeSpan ScanInterval = TimeSpan.FromSeconds(10);

    /// <summary>A row not written for this long belongs to a dead instance.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(45);

    private readonly QueueClient _queue = storage.Queues.GetQueueClient(Client.Contract.StorageNames.OutboundQueue);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        inFlight.StartWriting();
        try
        {
            await RunAsync(stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            inFlight.StopWriting();
        }
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var published = (Version: -1, At: DateTimeOffset.MinValue);
        var scanned = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            try
            {
                var version = inFlight.Added;
                if (version != published.Version || now - published.At >= HeartbeatInterval)
                {
                    var snapshot = inFlight.Snapshot();
                    try
                    {
                        await store.PublishAsync(inFlight.Instance, snapshot.Entries, now, inFlight.Process?.ToString(), stoppingToken).ConfigureAwait(false);
                        published = (version, now);
                    }
                    catch (Exception) when (!stoppingToken.IsCancellationRequested)
                    {
                        // Tried: the next try waits for the spacing like any write (no busy loop while storage fails).
                        published = (published.Version, now);
                        throw;
                    }
                    finally
                    {
                        // Written, or failed: either way the messages go on to their SMTP send (a failed write
                        // costs them prompt recovery, never delivery).
                        snapshot.Release();
                    }
                }

                if (now - scanned >= ScanInterval)
                {
                    scanned = now;
                    await RecoverAsync(now, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Recovery is an aid: whatever fails here (storage, a token for it), delivery goes on without it
                // (the listener's 10 minutes still apply), and an exception must not stop the host.
                Log.InFlightFailed(logger, e);
            }

            try
            {
                // Written again as soon as a message is taken (a finished one waits for the heartbeat: a stale
                // entry only costs a 404 at recovery), but never more often than PublishSpacing.
                var due = Min(published.At + HeartbeatInterval, scanned + ScanInterval) - time.GetUtcNow();
                await inFlight.WaitForAdditionAsync(due > TimeSpan.Zero ? due : TimeSpan.Zero, stoppingToken).ConfigureAwait(false);
                var sinceWrite = time.GetUtcNow() - published.At;
                if (sinceWrite < PublishSpacing)
                {
                    await Task.Delay(PublishSpacing - sinceWrite, time, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        inFlight.StopWriting();
        try
        {
            await store.RemoveOwnAsync(inFlight.Instance, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Left behind, the row is taken for a dead instance's after StaleAfter; its messages are already done.
            Log.InFlightFailed(logger, e);
        }
    }

    private async Task RecoverAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var row in await store.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (row.Instance == inFlight.Instance)
            {
                continue;
            }

            // Dead: its process provably ended (a restart on the same machine knows at once), or it has been
            // silent too long (anywhere). A live instance's row is neither: its process runs and it writes.
            var silent = now - row.Heartbeat >= StaleAfter;
            var ended = !silent && inFlight.Process?.ProvesGone(ProcessStamp.Parse(row.Process)) == true;
            if (!silent && !ended)
            {
                continue;
            }

            // The row goes first, with the ETag it was read with: of several instances scanning, one recovers, and
            // an instance that wrote since it was read is alive after all and keeps everything.
            if (!await store.RemoveAsync(row, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }

            // Its connection slots before its messages, so that the messages find the slots free when they come back.
            // Silence is no proof: a slot it renewed lately stays (its holder lives, whatever kept its row unwritten).
            var slots = await FreeSlotsAsync(
                row.Instance, ended ? null : now + DestinationLimiter.SlotHold - DestinationLimiter.RenewedByTheLiving, cancellationToken).ConfigureAwait(false);

            var released = 0;
            foreach (var message in row.Messages)
            {
                try
                {
                    await _queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: cancellationToken)
                        .ConfigureAwait(false);
                    released++;
                }
                catch (RequestFailedException e) when (e.Status is 400 or 404)
                {
                    // Done and deleted, or taken again since (a renewed or newer pop receipt): nothing to release.
                }
            }

            Log.InFlightRecovered(logger, row.Instance, ended ? $"ended (process {ProcessStamp.Parse(row.Process)?.Pid} is gone)" : "silent", row.Heartbeat,
                released, row.Messages.Count, slots);
        }
    }

    // The slots lapse by themselves after DestinationLimiter.SlotHold: a failure here costs time, not correctness.
    private async Task<int> FreeSlotsAsync(string instance, DateTimeOffset? expiringBefore, CancellationToken cancellationToken)
    {
        try
        {
            return await limits.FreeSlotsOfAsync(instance, expiringBefore, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            Log.SlotsNotFreed(logger, e, instance);
            return 0;
        }
    }
}
