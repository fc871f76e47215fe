namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>The <c>_mta-sts</c> TXT record of a policy domain (RFC 8461 §3.1).</summary>
/// <param name="Id">The policy id: 1–32 letters and digits, compared only for equality.</param>
public sealed record MtaStsRecord(string Id)
{
    /// <summary>The record text: <c>v=STSv1; id=...;</c>.</summary>
    public override string ToString() => $"v=STSv1; id={Id};";

    /// <summary>Whether a TXT record is an MTA-STS record at all (RFC 8461 §3.1: begins with <c>v=STSv1</c> and a delimiter).</summary>
    public static bool IsCandidate(string txt)
    {
        if (!txt.StartsWith("v=STSv1", StringComparison.Ordinal))
        {
            return false;
        }

        var rest = txt.AsSpan(7).TrimStart(" \t");
        return rest.Length == 0 || rest[0] == ';';
    }

    /// <summary>Parses one TXT record (its strings already joined).</summary>
    /// <exception cref="MtaStsFormatException">Not a valid STSv1 record; the message names the field.</exception>
    public static MtaStsRecord Parse(string txt)
    {
        // RFC 8461 §3.1: sts-version = %s"v=STSv1" first, then fields separated by *WSP ";" *WSP.
        if (!IsCandidate(txt))
        {
            throw new MtaStsFormatException("v", 0, "the record must begin with v=STSv1");
        }

        string? id = null;
        var fields = txt[7..].Split(';');
        for (var i = 0; i < fields.Length; i++)
        {
            var field = fields[i].Trim(' ', '\t');
            if (field.Length == 0)
            {
                // The leading ";" after v=STSv1, and one optional trailing ";".
                if (i == 0 || i == fields.Length - 1)
                {
                    continue;
                }

                throw new MtaStsFormatException("record", 0, "empty field between ';'");
            }

            var eq = field.IndexOf('=', StringComparison.Ordinal);
            var name = eq > 0 ? field[..eq] : field;
            var value = eq > 0 ? field[(eq + 1)..] : "";
            if (!MtaStsPolicyParser.IsFieldName(name) || eq <= 0)
            {
                throw new MtaStsFormatException(name, 0, "not a name=value field");
            }

            if (name == "id")
            {
                // RFC 8461 §3.1: sts-id = %s"id=" 1*32(ALPHA / DIGIT).
                if (value.Length is 0 or > 32 || !value.All(char.IsAsciiLetterOrDigit))
                {
                    throw new MtaStsFormatException("id", 0, $"'{value}' is not 1-32 letters and digits");
                }

                id ??= value;
            }
            else if (value.Length == 0 || value.Any(c => c is < '!' or '=' or ';' or > '~'))
            {
                // RFC 8461 §3.1: extensions are allowed and ignored, but must be well formed.
                throw new MtaStsFormatException(name, 0, "extension value is empty or holds characters outside %x21-3A / %x3C / %x3E-7E");
            }
        }

        return id is null ? throw new MtaStsFormatException("id", 0, "missing") : new MtaStsRecord(id);
    }
}
