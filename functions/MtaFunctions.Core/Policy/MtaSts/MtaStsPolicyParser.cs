using System.Globalization;

namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>Parses MTA-STS policy files (RFC 8461 §3.2).</summary>
/// <remarks>
/// Strict where the RFC is: version STSv1, a known mode, max_age of 1–10 digits within 0..31557600, mx values
/// that are host names or <c>*.</c> + host name, at least one mx unless the mode is none, every line a
/// <c>key: value</c> field. Tolerant where it says so: unknown fields are ignored, lines end in LF or CRLF,
/// and the first occurrence of a non-repeatable field wins.
/// </remarks>
public static class MtaStsPolicyParser
{
    /// <summary>Parses a policy file.</summary>
    /// <param name="text">The body as fetched (already decoded, size-capped).</param>
    /// <exception cref="MtaStsFormatException">The policy is invalid; the message names the field and line.</exception>
    public static MtaStsPolicy Parse(string text)
    {
        string? version = null;
        MtaStsMode? mode = null;
        long? maxAge = null;
        var mx = new List<MxPattern>();

        // RFC 8461 §3.2: sts-policy-term = LF / CRLF.
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var number = i + 1;
            var line = lines[i].EndsWith('\r') ? lines[i][..^1] : lines[i];

            // Spec note: the ABNF has no empty lines, but policies served with a trailing blank line (or
            // blank lines between fields) are common; they carry nothing, so they are skipped.
            if (line.Trim(' ', '\t').Length == 0)
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new MtaStsFormatException(Shorten(line), number, "not a 'key: value' field");
            }

            var key = line[..colon];
            if (!IsFieldName(key))
            {
                throw new MtaStsFormatException(Shorten(key), number, "not a field name (letters, digits, '_', '-', '.'; at most 32)");
            }

            // RFC 8461 §3.2: field-delim = ":" *WSP, and *WSP may follow the value.
            var value = line[(colon + 1)..].Trim(' ', '\t');
            switch (key.ToLowerInvariant())
            {
                case "version":
                    // RFC 8461 §3.2: first occurrence of a non-repeatable field wins.
                    version ??= value.Equals("STSv1", StringComparison.OrdinalIgnoreCase)
                        ? value
                        : throw new MtaStsFormatException("version", number, $"'{Shorten(value)}' is not STSv1");
                    break;
                case "mode":
                    mode ??= MtaStsModeWords.Parse(value)
                             ?? throw new MtaStsFormatException("mode", number, $"'{Shorten(value)}' is not one of enforce, testing, none");
                    break;
                case "max_age":
                    maxAge ??= MaxAge(value, number);
                    break;
                case "mx":
                    var pattern = MxPattern.Parse(value, number);
                    if (!mx.Contains(pattern))
                    {
                        mx.Add(pattern);
                    }

                    break;
                default:
                    // RFC 8461 §3.2: unknown fields are ignored, but must still be well formed.
                    if (value.Length == 0 || value.Any(c => c < 0x20 || c == 0x7f))
                    {
                        throw new MtaStsFormatException(Shorten(key), number, "extension value is empty or holds control characters");
                    }

                    break;
            }
        }

        if (version is null)
        {
            throw new MtaStsFormatException("version", 0, "missing (must be STSv1)");
        }

        if (mode is null)
        {
            throw new MtaStsFormatException("mode", 0, "missing (must be enforce, testing or none)");
        }

        if (maxAge is null)
        {
            throw new MtaStsFormatException("max_age", 0, $"missing (must be in 0..{MtaStsPolicy.MaxMaxAgeSeconds})");
        }

        // RFC 8461 §3.2: at least one mx unless the mode is none.
        if (mx.Count == 0 && mode != MtaStsMode.None)
        {
            throw new MtaStsFormatException("mx", 0, $"missing: mode {mode.Value.ToWire()} needs at least one mx");
        }

        return new MtaStsPolicy(mode.Value, mx, maxAge.Value);
    }

    private static long MaxAge(string value, int line)
    {
        // RFC 8461 §3.2: max_age = 1*10DIGIT, at most 31557600.
        if (value.Length is 0 or > 10 || !value.All(char.IsAsciiDigit)
            || !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds > MtaStsPolicy.MaxMaxAgeSeconds)
        {
            throw new MtaStsFormatException("max_age", line, $"'{Shorten(value)}' is not in 0..{MtaStsPolicy.MaxMaxAgeSeconds}");
        }

        return seconds;
    }

    /// <summary>RFC 8461 §3.2: name = (ALPHA / DIGIT) *31 (ALPHA / DIGIT / "_" / "-" / ".").</summary>
    internal static bool IsFieldName(string key) =>
        key.Length is > 0 and <= 32 && char.IsAsciiLetterOrDigit(key[0])
        && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');

    private static string Shorten(string text)
    {
        var printable = new string(text.Select(c => c < 0x20 || c == 0x7f ? '?' : c).ToArray());
        return printable.Length <= 40 ? printable : printable[..40] + "...";
    }
}
