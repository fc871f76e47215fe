using System.Text.Json;
using Azure.Storage.Queues;
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

    /// <summary>Moves a payload to the poison queue with its reason.</summary>
    public async Task SendAsync(string payload, string reason, long dequeueCount, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new PoisonRecord(reason, time.GetUtcNow(), dequeueCount, payload));
        await _queue.SendMessageAsync(BinaryData.FromBytes(body), null, TimeSpan.FromSeconds(-1), cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>What the poison queue holds: why, when, and the payload exactly as received.</summary>
/// <param name="Reason">Why the payload cannot be delivered.</param>
/// <param name="FailedAt">When it was moved.</param>
/// <param name="DequeueCount">How often the queue had handed it out.</param>
/// <param name="Payload">The original queue message text.</param>
public sealed record PoisonRecord(string Reason, DateTimeOffset FailedAt, long DequeueCount, string Payload);
