using System.Globalization;

namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>The report filename RFC 8460 §5.1 recommends: <c>sender!policy-domain!begin-ts!end-ts[!unique-id].json[.gz]</c>.</summary>
public static class TlsRptFileName
{
    private static readonly IdnMapping Idn = new();

    /// <summary>
    /// The filename of a report, e.g. <c>mail.sndr.example.com!example.net!1470013207!1470186007!001.json.gz</c>.
    /// </summary>
    /// <remarks>RFC 8460 §5.1: domains in A-labels, timestamps in seconds since the Unix epoch, extension <c>json</c> or <c>json.gz</c>.</remarks>
    /// <param name="sender">The sending (submitter) domain.</param>
    /// <param name="policyDomain">The policy domain the report is about.</param>
    /// <param name="range">The report's date-range.</param>
    /// <param name="uniqueId">An optional unique id; must not contain <c>!</c> or <c>.</c>.</param>
    /// <param name="gzip">True for a gzip'd report (<c>.json.gz</c>).</param>
    /// <exception cref="ArgumentException">A domain is not a host name, or the unique id holds <c>!</c>, <c>.</c> or <c>/</c>.</exception>
    public static string Create(string sender, string policyDomain, TlsRptDateRange range, string? uniqueId, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(range);
        if (uniqueId is not null && (uniqueId.Length == 0 || uniqueId.IndexOfAny(['!', '.', '/', '\\']) >= 0))
        {
            throw new ArgumentException($"unique id '{uniqueId}' must be non-empty without '!', '.', '/'", nameof(uniqueId));
        }

        var name = string.Join(
            '!',
            ALabel(sender, nameof(sender)),
            ALabel(policyDomain, nameof(policyDomain)),
            range.Start.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            range.End.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        if (uniqueId is not null)
        {
            name += "!" + uniqueId;
        }

        return name + (gzip ? ".json.gz" : ".json");
    }

    private static string ALabel(string domain, string parameter)
    {
        var trimmed = domain.Trim().TrimEnd('.');
        try
        {
            // RFC 8460 §5.1: domains in the filename are A-labels.
            var ascii = Idn.GetAscii(trimmed).ToLowerInvariant();
            return Uri.CheckHostName(ascii) == UriHostNameType.Dns
                ? ascii
                : throw new ArgumentException($"'{domain}' is not a domain", parameter);
        }
        catch (ArgumentException e) when (e.ParamName != parameter)
        {
            throw new ArgumentException($"'{domain}' is not a domain", parameter, e);
        }
    }
}
