using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using MtaFunctions.Client.Contract;

namespace MtaFunctions.Client;

/// <summary>
/// Puts envelopes on the outbound queue: inline when the payload fits a queue message, as a blob otherwise.
/// Used by producers (<see cref="MtaClient"/>) and by the delivery itself (retries, DSNs).
/// </summary>
public sealed class OutboundQueueWriter
{
    private readonly QueueClient _queue;
    private readonly BlobContainerClient _container;

    /// <summary>Creates a writer over the given queue and blob container.</summary>
    /// <param name="queue">The outbound queue, created with <see cref="QueueOptions"/>: the Functions trigger decodes
    /// base64 (host.json <c>extensions.queues.messageEncoding</c>), while the SDK's default encoding is none.</param>
    /// <param name="container">The message blob container.</param>
    public OutboundQueueWriter(QueueClient queue, BlobContainerClient container)
    {
        _queue = queue;
        _container = container;
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
            payload = EnvelopeSerializer.ToUtf8(envelope);
        }

        // Validated and serialised once: a producer's CPU per message counts at high rates.
        await SendAsync(payload, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        return envelope;
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
