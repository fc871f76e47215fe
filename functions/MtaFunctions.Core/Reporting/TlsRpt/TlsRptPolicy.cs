namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>The policy a TLS session ran under, as RFC 8460 §4.4 reports it.</summary>
/// <param name="Type">sts, tlsa or no-policy-found.</param>
/// <param name="Domain">Policy domain: the recipient domain for STS and no policy; the TLSA base domain (the MX host) for DANE (RFC 8460 §1.1).</param>
/// <param name="Strings">policy-string: one element per STS policy line or per TLSA record.</param>
/// <param name="MxHostPatterns">mx-host: the STS policy's mx patterns (empty otherwise).</param>
public sealed record TlsRptPolicy(TlsRptPolicyType Type, string Domain, IReadOnlyList<string> Strings, IReadOnlyList<string> MxHostPatterns)
{
    /// <summary>No policy found for <paramref name="domain"/>.</summary>
    public static TlsRptPolicy NoPolicy(string domain) => new(TlsRptPolicyType.NoPolicyFound, domain, [], []);

    /// <summary>A grouping key: same type, domain, strings and patterns are the same policy in a report.</summary>
    public string Key => $"{Type.ToWire()}|{Domain}|{string.Join('\n', Strings)}|{string.Join(',', MxHostPatterns)}";

    /// <summary>Value equality, lists compared element by element (so equal policies count as one group).</summary>
    public bool Equals(TlsRptPolicy? other) =>
        other is not null
        && Type == other.Type
        && string.Equals(Domain, other.Domain, StringComparison.Ordinal)
        && Strings.SequenceEqual(other.Strings, StringComparer.Ordinal)
        && MxHostPatterns.SequenceEqual(other.MxHostPatterns, StringComparer.Ordinal);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Type);
        hash.Add(Domain, StringComparer.Ordinal);
        foreach (var s in Strings)
        {
            hash.Add(s, StringComparer.Ordinal);
        }

        hash.Add(Strings.Count);
        foreach (var m in MxHostPatterns)
        {
            hash.Add(m, StringComparer.Ordinal);
        }

        return hash.ToHashCode();
    }
}
