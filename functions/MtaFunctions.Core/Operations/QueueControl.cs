using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Core.Operations;

/// <summary>
/// The operator's view of the outbound queue: list what waits, bring deferred retries forward, cancel.
/// </summary>
/// <remarks>
/// A deferred retry is a queue message hidden until its next attempt, and Azure queues cannot list hidden
/// messages. So the list is built from the <c>Deliveries</c> table (deferred rows carry the retry's queue
/// message id and pop receipt) plus a peek at the visible messages; "retry now" sets the hidden message's
/// visibility to zero with that receipt, and "cancel" marks the rows and brings the retry forward: the
/// delivery, which has the envelope and the message, then bounces (RFC 3464 DSN) or drops those recipients.
/// </remarks>
public sealed class QueueControl(StorageAccount storage, TimeProvider time)
{
    private readonly TableClient _deliveries = storage.Tables.GetTableClient(StorageNames.DeliveriesTable);
    private readonly QueueClient _outbound = storage.Queues.GetQueueClient(StorageNames.OutboundQueue);

    /// <summary>Visible messages (at most 32, what a peek returns) and every deferred message.</summary>
    public async Task<IReadOnlyList<QueueEntry>> ListAsync(CancellationToken cancellationToken)
    {
        var entries = await VisibleAsync(null, cancellationToken).ConfigureAwait(false);
        var deferred = await RowsAsync($"State eq '{nameof(DeliveryState.Deferred)}'", cancellationToken).ConfigureAwait(false);
        entries.AddRange(Group(deferred));
        return [.. entries.OrderBy(e => e.QueuedAt ?? DateTimeOffset.MaxValue).ThenBy(e => e.MessageId, StringComparer.Ordinal)];
    }

    /// <summary>Every recipient row of one message and its visible queue messages.</summary>
    public async Task<(IReadOnlyList<DeliveryRecord> Rows, IReadOnlyList<QueueEntry> Queued)> ShowAsync(string messageId, CancellationToken cancellationToken)
    {
        var rows = await RowsAsync(DeliveryKeys.MessageFilter(messageId), cancellationToken).ConfigureAwait(false);
        return (rows, await VisibleAsync(messageId, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Makes the deferred retries selected visible now.</summary>
    /// <param name="messageId">One message, or null.</param>
    /// <param name="domain">One destination domain (all messages), or null.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    public async Task<IReadOnlyList<RetryResult>> RetryAsync(string? messageId, string? domain, CancellationToken cancellationToken)
    {
        var filter = $"State eq '{nameof(DeliveryState.Deferred)}'";
        if (messageId is not null)
        {
            filter = $"{DeliveryKeys.MessageFilter(messageId)} and {filter}";
        }

        var rows = (await RowsAsync(filter, cancellationToken).ConfigureAwait(false))
            .Where(r => domain is null || string.Equals(MailAddressSyntax.DomainOf(r.Recipient), domain, StringComparison.OrdinalIgnoreCase))
            .ToList();
        return await BringForwardAsync(rows, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Cancels the recipients of a message that are not final: marks them, then brings their retry forward so the
    /// delivery ends them now (<paramref name="drop"/>: without a DSN).
    /// </summary>
    /// <returns>The retries brought forward; empty when the message has no recipient left to cancel.</returns>
    public async Task<IReadOnlyList<RetryResult>> CancelAsync(string messageId, bool drop, CancellationToken cancellationToken)
    {
        var rows = (await RowsAsync(DeliveryKeys.MessageFilter(messageId), cancellationToken).ConfigureAwait(false))
            .Where(r => !r.ParsedState.IsFinal())
            .ToList();
        foreach (var row in rows)
        {
            row.CancelRequested = drop ? OutboundDeliveryHandler.CancelDrop : OutboundDeliveryHandler.CancelBounce;

            // Merge with the row's ETag: a delivery that finished meanwhile wins, and the cancel is reported as gone.
            await _deliveries.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
        }

        return await BringForwardAsync(rows, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<RetryResult>> BringForwardAsync(List<DeliveryRecord> rows, CancellationToken cancellationToken)
    {
        var results = new List<RetryResult>();
        foreach (var retry in rows.GroupBy(r => (MessageId: r.MessageId(), Domain: MailAddressSyntax.DomainOf(r.Recipient), r.RetryMessageId, r.RetryPopReceipt)))
        {
            var (id, domain, queueMessageId, popReceipt) = retry.Key;
            if (queueMessageId is null || popReceipt is null)
            {
                results.Add(new RetryResult(id, domain, "no-receipt"));
                continue;
            }

            try
            {
                // No message body: the queue keeps the content and only the visibility changes.
                await _outbound.UpdateMessageAsync(queueMessageId, popReceipt, (BinaryData?)null, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
                results.Add(new RetryResult(id, domain, "visible-now"));
            }
            catch (RequestFailedException e) when (e.Status is 404 or 400)
            {
                results.Add(new RetryResult(id, domain, "gone"));
            }
        }

        return results;
    }

    private async Task<List<DeliveryRecord>> RowsAsync(string filter, CancellationToken cancellationToken)
    {
        var rows = new List<DeliveryRecord>();
        try
        {
            await foreach (var row in _deliveries.QueryAsync<DeliveryRecord>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                rows.Add(row);
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // No table yet: nothing was ever attempted.
        }

        return rows;
    }

    private async Task<List<QueueEntry>> VisibleAsync(string? messageId, CancellationToken cancellationToken)
    {
        var entries = new List<QueueEntry>();
        Azure.Storage.Queues.Models.PeekedMessage[] peeked;
        try
        {
            peeked = (await _outbound.PeekMessagesAsync(32, cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return entries;
        }

        var now = time.GetUtcNow();
        // A batch's envelopes one by one; one that cannot be delivered is left out: the delivery moves it to the
        // poison queue with its reason, and poison list shows it then.
        foreach (var envelope in peeked.SelectMany(m => EnvelopeSerializer.ValidEnvelopes(m.Body.ToString())))
        {
            if (messageId is not null && envelope.Id != messageId)
            {
                continue;
            }

            entries.AddRange(envelope.To.GroupBy(MailAddressSyntax.DomainOf, StringComparer.OrdinalIgnoreCase).Select(g => new QueueEntry(
                envelope.Id, g.Key, [.. g], "queued", envelope.Attempt, envelope.QueuedAt, now, null, null, null)));
        }

        return entries;
    }

    private static IEnumerable<QueueEntry> Group(IEnumerable<DeliveryRecord> rows) =>
        rows.GroupBy(r => (MessageId: r.MessageId(), Domain: MailAddressSyntax.DomainOf(r.Recipient).ToLowerInvariant()))
            .Select(g =>
            {
                var last = g.OrderByDescending(r => r.LastAttemptAt).First();
                return new QueueEntry(
                    g.Key.MessageId, g.Key.Domain, [.. g.Select(r => r.Recipient)], "deferred", g.Max(r => r.Attempts), last.QueuedAt,
                    g.Min(r => r.NextAttemptAt), last.LastReply, last.MxHost, last.CancelRequested);
            });
}
