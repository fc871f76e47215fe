namespace MtaFunctions.Client.Contract;

/// <summary>A queue payload that is not a valid <see cref="OutboundEnvelope"/>; the message names the field.</summary>
public sealed class EnvelopeFormatException(string field, string problem)
    : FormatException($"outbound envelope: {field}: {problem}")
{
    /// <summary>The JSON field that was wrong ("$" for the document as a whole; <c>[2].to[0]</c> in a batch).</summary>
    public string Field { get; } = field;

    /// <summary>What was wrong with it.</summary>
    public string Problem { get; } = problem;
}
