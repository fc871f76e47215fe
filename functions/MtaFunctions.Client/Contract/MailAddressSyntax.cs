namespace MtaFunctions.Client.Contract;

/// <summary>The envelope address check: what RFC 5321 MAIL FROM / RCPT TO can carry.</summary>
public static class MailAddressSyntax
{
    /// <summary>True for <c>local@domain</c> with a non-empty local part (at most 64 octets) and a domain of dot-separated labels.</summary>
    public static bool IsValid(string? address)
    {
        if (string.IsNullOrEmpty(address) || address.Length > 254)
        {
            return false;
        }

        var at = address.LastIndexOf('@');
        if (at <= 0 || at > 64 || at == address.Length - 1)
        {
            return false;
        }

        foreach (var c in address)
        {
            // RFC 5321 §4.1.2: no controls, spaces or angle brackets in an unquoted path.
            if (c <= ' ' || c == '<' || c == '>' || c == 0x7f)
            {
                return false;
            }
        }

        return DomainOf(address).Split('.').All(l => l.Length is > 0 and <= 63);
    }

    /// <summary>The domain part, lower-cased: what recipients are grouped by.</summary>
    public static string DomainOf(string address) => address[(address.LastIndexOf('@') + 1)..].ToLowerInvariant();
}
