namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>An MTA-STS TXT record or policy file breaks RFC 8461; the message names the field and where.</summary>
/// <param name="field">The field (<c>version</c>, <c>mode</c>, <c>mx</c>, <c>max_age</c>, <c>id</c>, ...).</param>
/// <param name="line">1-based line of the policy file (0 for a TXT record or the whole file).</param>
/// <param name="problem">What is wrong and what is allowed.</param>
public sealed class MtaStsFormatException(string field, int line, string problem)
    : FormatException(line > 0 ? $"mta-sts policy: line {line}: {field}: {problem}" : $"mta-sts: {field}: {problem}")
{
    /// <summary>The offending field.</summary>
    public string Field { get; } = field;

    /// <summary>1-based line in the policy file, 0 when not applicable.</summary>
    public int Line { get; } = line;
}
