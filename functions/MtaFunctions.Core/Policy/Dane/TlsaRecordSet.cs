namespace MtaFunctions.Core.Policy.Dane;

/// <summary>
/// The TLSA RRset of one TLSA base domain, with the records that count after discarding unusable ones and
/// applying digest agility.
/// </summary>
/// <remarks>
/// RFC 7671 §9: per (usage, selector), Full(0) records always count, and of the digest records only those of
/// the strongest matching type published; a certificate that matches only a weaker digest does not
/// authenticate. Strength order: SHA-512 over SHA-256.
/// </remarks>
public sealed class TlsaRecordSet
{
    /// <summary>Builds the set from the records as published.</summary>
    /// <param name="baseDomain">The TLSA base domain (the MX host, or its CNAME-expanded name).</param>
    /// <param name="records">Every record of the RRset.</param>
    public TlsaRecordSet(string baseDomain, IReadOnlyList<TlsaRecord> records)
    {
        BaseDomain = baseDomain;
        All = records;
        Effective = records
            .Where(r => r.IsUsable)
            .GroupBy(r => (r.Usage, r.Selector))
            .SelectMany(Strongest)
            .ToList();
    }

    /// <summary>The TLSA base domain: also the TLS-RPT policy domain (RFC 8460 §1.1).</summary>
    public string BaseDomain { get; }

    /// <summary>Every record published, usable or not.</summary>
    public IReadOnlyList<TlsaRecord> All { get; }

    /// <summary>The records a certificate is matched against (usable, after digest agility).</summary>
    public IReadOnlyList<TlsaRecord> Effective { get; }

    /// <summary>True when at least one record can authenticate the server.</summary>
    public bool HasUsable => Effective.Count > 0;

    /// <summary>The records in presentation form, for the TLS-RPT policy string (RFC 8460 §4.5).</summary>
    public IReadOnlyList<string> PresentationStrings => All.Select(r => r.ToString()).ToList();

    // RFC 7671 §9: Full(0) plus only the strongest digest algorithm of this (usage, selector).
    private static IEnumerable<TlsaRecord> Strongest(IEnumerable<TlsaRecord> group)
    {
        var list = group.ToList();
        var strongest = list.Where(r => r.MatchingType != (byte)TlsaMatchingType.Full)
            .Select(r => r.MatchingType)
            .DefaultIfEmpty((byte)TlsaMatchingType.Full)
            .Max();
        return list.Where(r => r.MatchingType == (byte)TlsaMatchingType.Full || r.MatchingType == strongest);
    }
}
