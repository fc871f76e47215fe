using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MtaFunctions.Client.Contract;

/// <summary>Reads and writes <see cref="OutboundEnvelope"/> JSON, checking every field.</summary>
public static partial class EnvelopeSerializer
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNameCaseInsensitive = false,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Skip,
    };

    [GeneratedRegex("^[A-Za-z0-9._-]{1,128}\\z")]
    private static partial Regex IdPattern();

    // RFC 5321 §4.1.2 Domain: dot-separated labels of letters, digits and inner hyphens (at most 63 octets each).
    [GeneratedRegex("^(?=.{1,253}\\z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\z")]
    private static partial Regex DomainPattern();

    /// <summary>True when <paramref name="name"/> can stand as the Domain of a Received: <c>from</c> clause (RFC 5321 §4.4).</summary>
    public static bool IsSubmitterName(string? name) => name is not null && DomainPattern().IsMatch(name);

    /// <summary>Serializes an envelope to the UTF-8 JSON that goes on the queue.</summary>
    public static byte[] ToUtf8(OutboundEnvelope envelope) => JsonSerializer.SerializeToUtf8Bytes(envelope, Options);

    /// <summary>Parses and validates queue JSON.</summary>
    /// <exception cref="EnvelopeFormatException">The JSON is malformed or a field is missing or invalid.</exception>
    public static OutboundEnvelope Parse(string json)
    {
        OutboundEnvelope? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize<OutboundEnvelope>(json, Options);
        }
        catch (JsonException e)
        {
            var field = string.IsNullOrEmpty(e.Path) ? "$" : e.Path;
            throw new EnvelopeFormatException(field, $"not valid envelope JSON ({FirstLine(e.Message)})");
        }

        if (envelope is null)
        {
            throw new EnvelopeFormatException("$", "the payload is JSON null, not an envelope object");
        }

        Validate(envelope);
        return envelope;
    }

    /// <summary>True when a queue payload is a batch: a JSON array of envelopes rather than one envelope object.</summary>
    public static bool IsBatch(string json)
    {
        foreach (var c in json)
        {
            if (!char.IsWhiteSpace(c))
            {
                return c == '[';
            }
        }

        return false;
    }

    /// <summary>
    /// Reads a queue payload of either form, one envelope object or a batch (a JSON array of them), without throwing:
    /// every envelope comes back with its own JSON, parsed and validated on its own, or with the reason it cannot be
    /// delivered. A payload that is not readable as a whole comes back as one entry with that reason.
    /// </summary>
    public static IReadOnlyList<QueuedEnvelope> ParsePayload(string json)
    {
        if (!IsBatch(json))
        {
            return [Read(json)];
        }

        List<string> elements;
        try
        {
            using var document = JsonDocument.Parse(json);
            elements = [.. document.RootElement.EnumerateArray().Select(e => e.GetRawText())];
        }
        catch (JsonException e)
        {
            return [new QueuedEnvelope(json, null, new EnvelopeFormatException("$", $"not a valid batch, a JSON array of envelopes ({FirstLine(e.Message)})"))];
        }

        if (elements.Count == 0)
        {
            return [new QueuedEnvelope(json, null, new EnvelopeFormatException("$", "an empty batch: the array holds no envelope"))];
        }

        // Each envelope of a batch can cost a delivery or a poison entry of its own: a payload of thousands of
        // tiny elements is refused whole.
        if (elements.Count > EnvelopeLimits.MaxBatchEnvelopes)
        {
            return [new QueuedEnvelope(json, null, new EnvelopeFormatException("$", $"a batch of {elements.Count} envelopes; at most {EnvelopeLimits.MaxBatchEnvelopes} per queue message"))];
        }

        // Each element's problem named by its place in the batch: "[2].to[0]".
        return [.. elements.Select((element, i) => Read(element) is var entry && entry.Problem is { } problem
            ? entry with { Problem = new EnvelopeFormatException(problem.Field == "$" ? $"[{i}]" : $"[{i}].{problem.Field}", problem.Problem) }
            : entry)];
    }

    /// <summary>The envelopes of a queue payload that can be delivered (those that cannot are left out).</summary>
    public static IEnumerable<OutboundEnvelope> ValidEnvelopes(string json) =>
        ParsePayload(json).Where(e => e.Envelope is not null).Select(e => e.Envelope!);

    /// <summary>
    /// The earliest <c>queuedAt</c> among the deliverable envelopes of these queue payloads, or null. One that cannot
    /// be delivered is left out: the delivery poisons it, its age says nothing about the queue.
    /// </summary>
    public static DateTimeOffset? OldestQueuedAt(IEnumerable<string> payloads) =>
        payloads.SelectMany(ValidEnvelopes).Select(e => (DateTimeOffset?)e.QueuedAt).Min();

    /// <summary>Writes envelopes that are already serialised (<see cref="ToUtf8"/>) as one batch payload.</summary>
    public static byte[] JoinBatch(IReadOnlyList<byte[]> envelopes)
    {
        var batch = new byte[envelopes.Sum(e => e.Length) + envelopes.Count + 1];
        batch[0] = (byte)'[';
        var at = 1;
        foreach (var envelope in envelopes)
        {
            if (at > 1)
            {
                batch[at++] = (byte)',';
            }

            envelope.CopyTo(batch, at);
            at += envelope.Length;
        }

        batch[at] = (byte)']';
        return batch;
    }

    private static QueuedEnvelope Read(string json)
    {
        try
        {
            return new QueuedEnvelope(json, Parse(json), null);
        }
        catch (EnvelopeFormatException e)
        {
            return new QueuedEnvelope(json, null, e);
        }
    }

    /// <summary>Checks an envelope built in code before it is queued.</summary>
    /// <exception cref="EnvelopeFormatException">A field is missing or invalid.</exception>
    public static void Validate(OutboundEnvelope envelope)
    {
        if (envelope.Id is null || !IdPattern().IsMatch(envelope.Id))
        {
            throw new EnvelopeFormatException("id", $"'{envelope.Id}' is not 1-128 characters of A-Z a-z 0-9 . _ -");
        }

        if (envelope.From is null)
        {
            throw new EnvelopeFormatException("from", "missing (use \"\" for a bounce)");
        }

        if (envelope.From.Length > 0 && !MailAddressSyntax.IsValid(envelope.From))
        {
            throw new EnvelopeFormatException("from", MailAddressSyntax.Problem(envelope.From)!);
        }

        if (envelope.To is null || envelope.To.Count == 0)
        {
            throw new EnvelopeFormatException("to", "at least one recipient is required");
        }

        if (envelope.To.Count > EnvelopeLimits.MaxRecipients)
        {
            throw new EnvelopeFormatException("to", $"{envelope.To.Count} recipients; at most {EnvelopeLimits.MaxRecipients} per envelope");
        }

        for (var i = 0; i < envelope.To.Count; i++)
        {
            if (!MailAddressSyntax.IsValid(envelope.To[i]))
            {
                throw new EnvelopeFormatException($"to[{i}]", MailAddressSyntax.Problem(envelope.To[i])!);
            }
        }

        var hasInline = !string.IsNullOrEmpty(envelope.Message);
        var hasBlob = !string.IsNullOrEmpty(envelope.MessageBlob);
        if (hasInline == hasBlob)
        {
            throw new EnvelopeFormatException("message", "exactly one of 'message' (base64) and 'messageBlob' must be set");
        }

        if (hasInline && !IsBase64(envelope.Message!))
        {
            throw new EnvelopeFormatException("message", "not valid base64");
        }

        if (envelope.Attempt < 0)
        {
            throw new EnvelopeFormatException("attempt", $"{envelope.Attempt} is negative");
        }

        if (envelope.QueuedAt == default)
        {
            throw new EnvelopeFormatException("queuedAt", "missing");
        }

        if (envelope.Submitter is not null && !IsSubmitterName(envelope.Submitter))
        {
            throw new EnvelopeFormatException("submitter", $"'{envelope.Submitter}' is not a host name (letters, digits, inner hyphens, dot-separated labels; RFC 5321 §4.1.2)");
        }
    }

    private static bool IsBase64(string text)
    {
        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out _);
    }

    private static string FirstLine(string text)
    {
        var end = text.IndexOf('.', StringComparison.Ordinal);
        return end > 0 ? text[..end] : text;
    }

    /// <summary>Decodes the inline message body.</summary>
    public static byte[] DecodeInline(OutboundEnvelope envelope) =>
        Convert.FromBase64String(envelope.Message ?? throw new InvalidOperationException("envelope has no inline message"));

    internal static string ToJson(OutboundEnvelope envelope) => Encoding.UTF8.GetString(ToUtf8(envelope));
}

/// <summary>One envelope of a queue payload: its own JSON, and the envelope or why it cannot be delivered.</summary>
/// <param name="Json">The envelope's JSON as queued (the whole payload when that is unreadable as a whole).</param>
/// <param name="Envelope">The parsed, validated envelope, or null.</param>
/// <param name="Problem">Why there is no envelope, or null.</param>
public sealed record QueuedEnvelope(string Json, OutboundEnvelope? Envelope, EnvelopeFormatException? Problem);
