using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using MtaFunctions.Client.Contract;

namespace MtaFunctions.Core.Storage;

/// <summary>
/// The <c>outbound-poison</c> queue: envelopes that can never be delivered, each wrapped with the reason,
/// so that nothing is lost and an operator can see why.
/// </summary>
public sealed class PoisonQueue(QueueServiceClient queues, TimeProvider time)
{
    private readonly QueueClient _queue = queues.GetQueueClient(StorageNames.OutboundPoisonQueue);

    /// <summary>Creates the queue when missing.</summary>
    public Task EnsureCreatedAsync(CancellationToken cancellationToken) => _queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);

    /// <summary>Every message of the poison queue, oldest first.</summary>
    /// <remarks>
    /// A peek returns at most 32 messages, so the queue is read by receiving (each message hidden for a
    /// minute) and every message is made visible again at once; the poison queue has no trigger, so nobody
    /// else takes them meanwhile.
    /// </remarks>
    public async Task<IReadOnlyList<PoisonEntry>> ListAsync(CancellationToken cancellationToken)
    {
        var taken = await ReceiveAllAsync(cancellationToken).ConfigureAwait(false);
        foreach (var message in taken)
        {
            await RestoreAsync(message, cancellationToken).ConfigureAwait(false);
        }

        return [.. taken.Select(ToEntry).OrderBy(e => e.InsertedOn)];
    }

    /// <summary>
    /// Puts the payload of the poison message named <paramref name="id"/> (queue message id or envelope id) back on
    /// <paramref name="outbound"/>, exactly as it was, and removes it from the poison queue.
    /// </summary>
    /// <returns>The entry requeued, or null when no poison message has that id.</returns>
    /// <exception cref="EnvelopeFormatException">The payload is not a valid envelope: it would be poisoned again, so it stays.</exception>
    public async Task<PoisonEntry?> RequeueAsync(string id, QueueClient outbound, CancellationToken cancellationToken)
    {
        var taken = await ReceiveAllAsync(cancellationToken).ConfigureAwait(false);
        PoisonEntry? requeued = null;
        try
        {
            var match = taken.FirstOrDefault(m => ToEntry(m).Matches(id));
            if (match is not null)
            {
                var entry = ToEntry(match);

                // Every envelope of it (a batch the listener poisoned whole has several) must be deliverable.
                if (EnvelopeSerializer.ParsePayload(entry.Payload).FirstOrDefault(e => e.Problem is not null)?.Problem is { } problem)
                {
                    throw problem;
                }

                await outbound.SendMessageAsync(BinaryData.FromString(entry.Payload), null, TimeSpan.FromSeconds(-1), cancellationToken).ConfigureAwait(false);
                await _queue.DeleteMessageAsync(match.MessageId, match.PopReceipt, cancellationToken).ConfigureAwait(false);
                taken.Remove(match);
                requeued = entry;
            }
        }
        finally
        {
            foreach (var message in taken)
            {
                await RestoreAsync(message, CancellationToken.None).ConfigureAwait(false);
            }
        }

        return requeued;
    }

    private async Task<List<QueueMessage>> ReceiveAllAsync(CancellationToken cancellationToken)
    {
        var taken = new List<QueueMessage>();
        if (!await _queue.ExistsAsync(cancellationToken).ConfigureAwait(false))
        {
            return taken;
        }

        while (true)
        {
            var batch = (await _queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(false)).Value;
            if (batch.Length == 0)
            {
                return taken;
            }

            taken.AddRange(batch);
        }
    }

    private Task RestoreAsync(QueueMessage message, CancellationToken cancellationToken) =>
        _queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, (BinaryData?)null, TimeSpan.Zero, cancellationToken);

    private static PoisonEntry ToEntry(QueueMessage message)
    {
        var text = message.Body.ToString();
        PoisonRecord? record = null;
        try
        {
            record = JsonSerializer.Deserialize<PoisonRecord>(text);
        }
        catch (JsonException)
        {
            // Not our wrapper (e.g. put there by the Functions host): shown and requeued as it is.
        }

        string? envelopeId = null;
        try
        {
            using var doc = JsonDocument.Parse(record?.Payload ?? text);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("id", out var idElement)
                && idElement.ValueKind == JsonValueKind.String)
            {
                envelopeId = idElement.GetString();
            }
        }
        catch (JsonException)
        {
            // An unparseable payload has no envelope id; the queue message id still names it.
        }

        return new PoisonEntry(message.MessageId, message.InsertedOn, record?.Payload is null ? null : record, text, envelopeId);
    }

    /// <summary>Moves a payload to the poison queue with its reason.</summary>
    public async Task SendAsync(string payload, string reason, long dequeueCount, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new PoisonRecord(reason, time.GetUtcNow(), dequeueCount, payload));
        await _queue.SendMessageAsync(BinaryData.FromBytes(body), null, TimeSpan.FromSeconds(-1), cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>One message of the poison queue, as an operator sees it.</summary>
/// <param name="QueueMessageId">The poison queue's own message id.</param>
/// <param name="InsertedOn">When it was put on the poison queue.</param>
/// <param name="Record">The wrapper (reason, when, dequeue count, payload); null when the text is not one.</param>
/// <param name="Text">The queue message text as stored.</param>
/// <param name="EnvelopeId">The envelope id inside the payload, when it has one.</param>
public sealed record PoisonEntry(string QueueMessageId, DateTimeOffset? InsertedOn, PoisonRecord? Record, string Text, string? EnvelopeId)
{
    /// <summary>The payload to requeue: the wrapped one, or the text itself when it is not wrapped.</summary>
    public string Payload => Record?.Payload ?? Text;

    /// <summary>Whether <paramref name="id"/> names this entry (queue message id or envelope id).</summary>
    public bool Matches(string id) => QueueMessageId == id || EnvelopeId == id;
}

/// <summary>What the poison queue holds: why, when, and the payload exactly as received.</summary>
/// <param name="Reason">Why the payload cannot be delivered.</param>
/// <param name="FailedAt">When it was moved.</param>
/// <param name="DequeueCount">How often the queue had handed it out.</param>
/// <param name="Payload">The original queue message text.</param>
public sealed record PoisonRecord(string Reason, DateTimeOffset FailedAt, long DequeueCount, string Payload);
