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
