using MimeKit;

namespace MtaFunctions.Client.Contract;

/// <summary>The envelope address check: what RFC 5321 MAIL FROM / RCPT TO can carry.</summary>
/// <remarks>
/// The producer's library, the CLI and the worker all use this one check, and it includes the parser the
/// worker's SMTP client uses (MimeKit's <see cref="MailboxAddress"/>): an address that passes here is one the
/// worker can put in MAIL FROM / RCPT TO, so nothing is refused only after it was queued.
/// </remarks>
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

        return DomainOf(address).Split('.').All(l => l.Length is > 0 and <= 63) && ParsesAsOneMailbox(address);
    }

    /// <summary>Why <paramref name="address"/> is refused, in words for the producer; null when it is valid.</summary>
    public static string? Problem(string? address) => IsValid(address)
        ? null
        : address is not null && (address.Contains(',', StringComparison.Ordinal) || address.Contains(';', StringComparison.Ordinal))
          && address.Count(c => c == '@') > 1
            ? $"'{address}' is a list; give each recipient as its own address"
            : $"'{address}' is not a mailbox address local@domain";

    // The worker builds MailboxAddress("", address) for MAIL FROM / RCPT TO; its parser must take the whole text.
    private static bool ParsesAsOneMailbox(string address)
    {
        try
        {
            return new MailboxAddress("", address).Address == address;
        }
        catch (ParseException)
        {
            return false;
        }
    }

    /// <summary>The domain part, lower-cased: what recipients are grouped by.</summary>
    public static string DomainOf(string address) => address[(address.LastIndexOf('@') + 1)..].ToLowerInvariant();
}
