using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using MtaFunctions.Client.Contract;

namespace MtaFunctions.Client;

/// <summary>
/// Puts envelopes on the outbound queue: inline when the payload fits a queue message, as a blob otherwise.
/// Used by producers (<see cref="MtaClient"/>) and by the delivery itself (retries, DSNs).
/// </summary>
/// <remarks>
/// New envelopes sent at the same time share queue messages: a batch payload, a JSON array of envelopes. Each
/// queue message costs a storage request to send and one to delete after delivery, which on a busy producer
/// were most of the storage requests per message. The first send goes at once; those that come while
/// <see cref="ConcurrentSends"/> are on their way go together in the next (group commit, no added wait), at most
/// <see cref="MaxEnvelopesPerMessage"/> and <see cref="EnvelopeLimits.MaxQueuePayloadBytes"/> per queue message. A
/// producer sending one message at a time sends single envelopes, the form every version of the host reads.
/// Retries and envelopes whose body is a blob always go alone.
/// </remarks>
public sealed class OutboundQueueWriter
{
    /// <summary>Most new envelopes this writer puts in one queue message (the delivery takes up to <see cref="EnvelopeLimits.MaxBatchEnvelopes"/>).</summary>
    public const int MaxEnvelopesPerMessage = 32;

    /// <summary>Queue messages of new envelopes on their way at once before further sends wait to go together.</summary>
    public const int ConcurrentSends = 2;

    private readonly QueueClient _queue;
    private readonly BlobContainerClient _container;
    private readonly Coalescer<byte[], bool> _batches;

    /// <summary>Creates a writer over the given queue and blob container.</summary>
    /// <param name="queue">The outbound queue, created with <see cref="QueueOptions"/>: the Functions trigger decodes
    /// base64 (host.json <c>extensions.queues.messageEncoding</c>), while the SDK's default encoding is none.</param>
    /// <param name="container">The message blob container.</param>
    public OutboundQueueWriter(QueueClient queue, BlobContainerClient container)
    {
        _queue = queue;
        _container = container;
        _batches = new Coalescer<byte[], bool>(TimeSpan.Zero, MaxEnvelopesPerMessage, SendTogetherAsync, ConcurrentSends);
    }

    /// <summary>Queue client options every producer of the outbound queue must use.</summary>
    public static QueueClientOptions QueueOptions => new() { MessageEncoding = QueueMessageEncoding.Base64 };

    /// <summary>Creates the queue and the blob container when missing.</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken = default)
    {
        await _queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queues a new message whose body is <paramref name="rfc5322"/>.</summary>
    /// <returns>The envelope as queued (its body inline or its blob name set).</returns>
    public async Task<OutboundEnvelope> EnqueueNewAsync(
        string id, string from, IReadOnlyList<string> to, ReadOnlyMemory<byte> rfc5322, DateTimeOffset queuedAt,
        CancellationToken cancellationToken = default, string? submitter = null)
    {
        var envelope = new OutboundEnvelope
        {
            Id = id,
            From = from,
            To = to,
            Message = Convert.ToBase64String(rfc5322.Span),
            QueuedAt = queuedAt,
            RecipientCount = to.Count,
            Submitter = submitter,
        };
        EnvelopeSerializer.Validate(envelope);
        var payload = EnvelopeSerializer.ToUtf8(envelope);
        if (payload.Length > EnvelopeLimits.MaxInlinePayloadBytes)
        {
            var blobName = $"{id}.eml";
            await _container.GetBlobClient(blobName)
                .UploadAsync(BinaryData.FromBytes(rfc5322), overwrite: true, cancellationToken)
                .ConfigureAwait(false);
            envelope = envelope with { Message = null, MessageBlob = blobName };

            // Alone: a batch of blob bodies would have one delivery hold many large bodies in memory at once.
            await SendAsync(EnvelopeSerializer.ToUtf8(envelope), TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
            return envelope;
        }

        // Validated and serialised once: a producer's CPU per message counts at high rates. Cancelled while its
        // batch is on the way, the envelope may still be queued, as with any request cancelled in flight.
        cancellationToken.ThrowIfCancellationRequested();
        await _batches.Add(payload).WaitAsync(cancellationToken).ConfigureAwait(false);
        return envelope;
    }

    private async Task SendTogetherAsync(IReadOnlyList<Coalescer<byte[], bool>.Request> requests)
    {
        await Task.WhenAll(Pack(requests).Select(async group =>
        {
            try
            {
                // One alone stays a single envelope: the form every version of the host reads.
                var payload = group.Count == 1 ? group[0].Value : EnvelopeSerializer.JoinBatch([.. group.Select(r => r.Value)]);
                await SendAsync(payload, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
                foreach (var request in group)
                {
                    request.Done.TrySetResult(true);
                }
            }
            catch (Exception e)
            {
                foreach (var request in group)
                {
                    request.Done.TrySetException(e);
                }
            }
        })).ConfigureAwait(false);
    }

    // In order, as many to a queue message as its size allows.
    private static List<List<Coalescer<byte[], bool>.Request>> Pack(IReadOnlyList<Coalescer<byte[], bool>.Request> requests)
    {
        var groups = new List<List<Coalescer<byte[], bool>.Request>>();
        var group = new List<Coalescer<byte[], bool>.Request>();
        var envelopeBytes = 0;
        foreach (var request in requests)
        {
            // With this one: the envelopes, a comma between each two, and the brackets.
            if (group.Count > 0 && envelopeBytes + request.Value.Length + group.Count + 2 > EnvelopeLimits.MaxQueuePayloadBytes)
            {
                groups.Add(group);
                group = [];
                envelopeBytes = 0;
            }

            group.Add(request);
            envelopeBytes += request.Value.Length;
        }

        if (group.Count > 0)
        {
            groups.Add(group);
        }

        return groups;
    }

    /// <summary>Queues an envelope (new or a retry) to become visible after <paramref name="delay"/>.</summary>
    /// <remarks>Azure caps visibility delays at 7 days; longer delays are cut to that.</remarks>
    /// <returns>The queue's receipt (message id and pop receipt): with it an operator can make a delayed retry visible now.</returns>
    public async Task<SendReceipt> EnqueueAsync(OutboundEnvelope envelope, TimeSpan delay, CancellationToken cancellationToken = default)
    {
        EnvelopeSerializer.Validate(envelope);
        return await SendAsync(EnvelopeSerializer.ToUtf8(envelope), delay, cancellationToken).ConfigureAwait(false);
    }

    private async Task<SendReceipt> SendAsync(byte[] payload, TimeSpan delay, CancellationToken cancellationToken)
    {
        if (payload.Length > EnvelopeLimits.MaxQueuePayloadBytes)
        {
            throw new EnvelopeFormatException("$", $"envelope JSON is {payload.Length} bytes; a queue message takes at most {EnvelopeLimits.MaxQueuePayloadBytes}");
        }

        var visibility = delay <= TimeSpan.Zero ? (TimeSpan?)null : Min(delay, TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1));
        var receipt = await _queue.SendMessageAsync(BinaryData.FromBytes(payload), visibility, TimeSpan.FromSeconds(-1), cancellationToken)
            .ConfigureAwait(false);
        return receipt.Value;
    }

    /// <summary>Reads the message body of an envelope, from inline base64 or from its blob.</summary>
    /// <exception cref="Azure.RequestFailedException">The blob is missing or unreadable.</exception>
    public async Task<byte[]> ReadBodyAsync(OutboundEnvelope envelope, CancellationToken cancellationToken = default)
    {
        if (envelope.MessageBlob is null)
        {
            return EnvelopeSerializer.DecodeInline(envelope);
        }

        var content = await _container.GetBlobClient(envelope.MessageBlob).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
        return content.Value.Content.ToArray();
    }

    /// <summary>Deletes the message blob of an envelope once every recipient is final.</summary>
    public async Task DeleteBodyAsync(OutboundEnvelope envelope, CancellationToken cancellationToken = default)
    {
        if (envelope.MessageBlob is not null)
        {
            await _container.GetBlobClient(envelope.MessageBlob).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
