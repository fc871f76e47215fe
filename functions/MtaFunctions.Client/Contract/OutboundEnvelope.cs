using System.Text.Json.Serialization;

namespace MtaFunctions.Client.Contract;

/// <summary>
/// The JSON a producer puts on the <c>outbound</c> queue: one message, its envelope and its recipients.
/// </summary>
/// <remarks>
/// The RFC 5322 message travels inline (<see cref="Message"/>, base64) when the whole queue payload stays
/// under <see cref="EnvelopeLimits.MaxInlinePayloadBytes"/>, otherwise as a blob in
/// <see cref="StorageNames.MessageContainer"/> named by <see cref="MessageBlob"/>. Exactly one of the two is set.
/// A queue message carries one envelope, or several as a JSON array (a batch, see <see cref="EnvelopeSerializer.ParsePayload"/>).
/// </remarks>
public sealed record OutboundEnvelope
{
    /// <summary>Message id: the Deliveries partition key and what <c>status</c> takes. 1-128 of [A-Za-z0-9._-].</summary>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>Envelope sender (MAIL FROM). Empty for bounces (RFC 5321 §4.5.5): no DSN is ever sent for those.</summary>
    [JsonPropertyName("from")]
    public required string From { get; init; }

    /// <summary>Envelope recipients (RCPT TO) this queue message still carries.</summary>
    [JsonPropertyName("to")]
    public required IReadOnlyList<string> To { get; init; }

    /// <summary>The RFC 5322 message, base64, when small enough to travel inline.</summary>
    [JsonPropertyName("message")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Message { get; init; }

    /// <summary>Name of the blob in <see cref="StorageNames.MessageContainer"/> holding the message.</summary>
    [JsonPropertyName("messageBlob")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MessageBlob { get; init; }

    /// <summary>When the producer queued the message; the message lifetime is counted from here.</summary>
    [JsonPropertyName("queuedAt")]
    public required DateTimeOffset QueuedAt { get; init; }

    /// <summary>How many delivery attempts came before this queue message (0 from the producer).</summary>
    [JsonPropertyName("attempt")]
    public int Attempt { get; init; }

    /// <summary>
    /// Recipients of the whole message across every queue message split from it; the delivery deletes the
    /// message blob once this many recipients have reached a final state. Set by the producer.
    /// </summary>
    [JsonPropertyName("recipientCount")]
    public int RecipientCount { get; init; }

    /// <summary>
    /// The producer's host name as it declares it (a domain, e.g. <c>app01.example.com</c>), or absent. The
    /// MTA names it in the <c>from</c> clause of the Received: field it adds (RFC 5321 §4.4).
    /// </summary>
    [JsonPropertyName("submitter")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Submitter { get; init; }
}

/// <summary>Size limits of the queue contract.</summary>
public static class EnvelopeLimits
{
    /// <summary>
    /// Azure queue messages carry at most 64 KiB of text; the Functions trigger expects base64, which leaves
    /// 49,152 bytes of JSON payload. Above this the message body goes to a blob.
    /// </summary>
    public const int MaxQueuePayloadBytes = 49_152;

    /// <summary>Inline body limit: the payload limit less room for the envelope fields (recipients included).</summary>
    public const int MaxInlinePayloadBytes = 45_000;

    /// <summary>Most envelopes one queue message (a batch) may carry.</summary>
    public const int MaxBatchEnvelopes = 100;

    /// <summary>Most recipients one envelope may carry (RFC 5321 §4.5.3.1.8 asks servers to take at least 100).</summary>
    public const int MaxRecipients = 1000;
}
