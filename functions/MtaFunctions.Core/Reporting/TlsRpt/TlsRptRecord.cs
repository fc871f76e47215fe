using MimeKit;

namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>A parsed <c>_smtp._tls.&lt;domain&gt;</c> TXT record (RFC 8460 §3).</summary>
/// <remarks>
/// RFC 8460 §3: <c>v=TLSRPTv1; rua=mailto:reports@example.com,https://reporting.example.com/v1/tlsrpt</c>.
/// The version comes first; <c>rua</c> is required and lists where reports go; other <c>name=value</c>
/// fields are extensions and are ignored.
/// </remarks>
/// <param name="ReportingUris">rua: the report destinations (mailto: and https: only), in record order.</param>
public sealed record TlsRptRecord(IReadOnlyList<Uri> ReportingUris)
{
    /// <summary>The record in presentation form.</summary>
    public override string ToString() => "v=TLSRPTv1; rua=" + string.Join(',', ReportingUris.Select(u => u.OriginalString));

    /// <summary>Whether <paramref name="txt"/> is a TLS-RPT record at all (starts with the version).</summary>
    /// <remarks>RFC 8460 §3: records not starting with <c>v=TLSRPTv1</c> are discarded.</remarks>
    public static bool HasVersion(string txt) =>
        txt.StartsWith("v=TLSRPTv1", StringComparison.Ordinal)
        && (txt.Length == 10 || txt[10] is ';' or ' ' or '\t');

    /// <summary>Parses one record (its TXT strings already joined).</summary>
    /// <exception cref="FormatException">Not a valid record; the message names the field and the problem.</exception>
    public static TlsRptRecord Parse(string txt)
    {
        ArgumentNullException.ThrowIfNull(txt);
        if (!HasVersion(txt))
        {
            throw new FormatException("tlsrpt record: must start with v=TLSRPTv1");
        }

        List<Uri>? rua = null;
        var fields = txt[10..].Split(';');
        for (var i = 0; i < fields.Length; i++)
        {
            var field = fields[i].Trim(' ', '\t');
            if (field.Length == 0)
            {
                // RFC 8460 §3: a trailing field delimiter is allowed; empty fields elsewhere are not.
                if (i == 0 || i == fields.Length - 1)
                {
                    continue;
                }

                throw new FormatException("tlsrpt record: empty field");
            }

            var eq = field.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"tlsrpt record: field '{field}' is not name=value");
            }

            var name = field[..eq];
            var value = field[(eq + 1)..];
            if (name == "rua")
            {
                if (rua is not null)
                {
                    throw new FormatException("tlsrpt record: rua appears twice");
                }

                rua = ParseRua(value);
            }
            else if (!IsExtensionName(name) || value.Length == 0 || value.Any(c => c is < '!' or > '~' or ';' or '='))
            {
                // RFC 8460 §3: tlsrpt-extension = ext-name "=" 1*(%x21-3A / %x3C / %x3E-7E).
                throw new FormatException($"tlsrpt record: field '{field}' is not a valid extension");
            }
        }

        return rua is null
            ? throw new FormatException("tlsrpt record: rua is required")
            : new TlsRptRecord(rua);
    }

    private static List<Uri> ParseRua(string value)
    {
        var list = new List<Uri>();

        // RFC 8460 §3: URIs separated by "," with optional whitespace; a "," inside a URI is percent-encoded.
        foreach (var raw in value.Split(','))
        {
            var text = raw.Trim(' ', '\t');
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || text.Any(c => c is ' ' or '\t'))
            {
                throw new FormatException($"tlsrpt record: rua '{text}' is not a URI");
            }

            if (uri.Scheme == Uri.UriSchemeMailto)
            {
                var address = Uri.UnescapeDataString(text[7..].Split('?')[0]);
                if (!MailboxAddress.TryParse(address, out var mailbox) || !mailbox.Address.Contains('@', StringComparison.Ordinal)
                    || mailbox.Address.EndsWith('@'))
                {
                    throw new FormatException($"tlsrpt record: rua '{text}' is not a mailto: address");
                }
            }
            else if (uri.Scheme == Uri.UriSchemeHttps)
            {
                if (string.IsNullOrEmpty(uri.Host))
                {
                    throw new FormatException($"tlsrpt record: rua '{text}' has no host");
                }
            }
            else
            {
                // Spec note: RFC 8460 §3 defines mailto: and https: only; other schemes cannot be used and are
                // skipped rather than voiding the whole record.
                continue;
            }

            list.Add(uri);
        }

        return list.Count > 0 ? list : throw new FormatException("tlsrpt record: rua names no mailto: or https: URI");
    }

    private static bool IsExtensionName(string name) =>
        name.Length is >= 1 and <= 32
        && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');
}
