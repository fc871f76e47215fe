using MtaFunctions.Core.Dns;

namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>One <c>mx</c> value of an MTA-STS policy: a host name, or <c>*.</c> plus a domain.</summary>
/// <remarks>
/// Stored as A-labels (RFC 8461 §3.2: IDN mx values are A-labels; a U-label in a policy is converted so that
/// it compares with the A-label form DNS gives us for the MX host).
/// </remarks>
public sealed record MxPattern
{
    private MxPattern(string text) => Text = text;

    /// <summary>The pattern in lower-case A-labels, e.g. <c>*.example.net</c>.</summary>
    public string Text { get; }

    /// <summary>True for <c>*.domain</c>.</summary>
    public bool IsWildcard => Text.StartsWith("*.", StringComparison.Ordinal);

    /// <summary>Parses an mx value.</summary>
    /// <exception cref="MtaStsFormatException">Not a host name or <c>*.</c> + host name.</exception>
    public static MxPattern Parse(string value, int line)
    {
        var wildcard = value.StartsWith("*.", StringComparison.Ordinal);
        var host = wildcard ? value[2..] : value;
        string ascii;
        try
        {
            ascii = DnsClientResolver.ToAscii(host);
        }
        catch (ArgumentException)
        {
            throw new MtaStsFormatException("mx", line, $"'{value}' is not a host name or *.domain");
        }

        // RFC 8461 §3.2: mx = ["*."] Domain (RFC 5321 §4.1.2): letters, digits, hyphens; dot-separated labels.
        var labels = ascii.Split('.');
        if (ascii.Length is 0 or > 253 || labels.Any(l => l.Length is 0 or > 63 || l[0] == '-' || l[^1] == '-'
                || !l.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')))
        {
            throw new MtaStsFormatException("mx", line, $"'{value}' is not a host name or *.domain");
        }

        return new MxPattern(wildcard ? "*." + ascii : ascii);
    }

    /// <summary>Whether <paramref name="mxHost"/> matches this pattern.</summary>
    /// <remarks>
    /// RFC 8461 §4.1: a wildcard stands for exactly one left-most label: <c>*.example.com</c> matches
    /// <c>mx.example.com</c>, not <c>example.com</c> and not <c>a.b.example.com</c>.
    /// </remarks>
    public bool Matches(string mxHost)
    {
        string host;
        try
        {
            host = DnsClientResolver.ToAscii(mxHost);
        }
        catch (ArgumentException)
        {
            return false;
        }

        if (!IsWildcard)
        {
            return string.Equals(host, Text, StringComparison.Ordinal);
        }

        var dot = host.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && string.Equals(host[(dot + 1)..], Text[2..], StringComparison.Ordinal);
    }

    /// <inheritdoc />
    public override string ToString() => Text;
}
