using System.Globalization;

namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>Host-name syntax for domains read from reports: LDH labels (RFC 1123 §2.1), A-labels for IDNs.</summary>
public static class HostNameSyntax
{
    private static readonly IdnMapping Idn = new() { UseStd3AsciiRules = true };

    /// <summary>The host name in lower-case A-labels without a trailing dot, or null when it is not a host name.</summary>
    public static string? Normalize(string text)
    {
        var name = text.EndsWith('.') ? text[..^1] : text;
        if (name.Length is 0 or > 253)
        {
            return null;
        }

        if (!name.All(char.IsAscii))
        {
            try
            {
                // RFC 8460 §5.1 speaks of A-labels; a U-label domain is taken in its A-label form.
                name = Idn.GetAscii(name);
            }
            catch (ArgumentException)
            {
                return null;
            }
        }

        name = name.ToLowerInvariant();
        foreach (var label in name.Split('.'))
        {
            // RFC 1123 §2.1: letters, digits and hyphens, 1-63 characters, no hyphen at either end.
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-'
                || !label.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                return null;
            }
        }

        return name.Length <= 253 ? name : null;
    }
}
