namespace MtaFunctions.Core.Dns;

/// <summary>The outcome of one lookup: a status, the records, and whether DNSSEC authenticated them.</summary>
/// <typeparam name="T">Record type.</typeparam>
/// <param name="Status">What the lookup found.</param>
/// <param name="Records">The records of the asked type at the end of any CNAME chain (RRSIGs filtered out).</param>
/// <param name="Authenticated">The AD flag, from a resolver this process trusts to validate; false otherwise.</param>
/// <param name="CanonicalName">The name the records belong to after CNAMEs were followed (no trailing dot).</param>
/// <param name="Error">Why the lookup failed, for logs and reports.</param>
public sealed record DnsAnswer<T>(
    DnsStatus Status, IReadOnlyList<T> Records, bool Authenticated, string CanonicalName, string? Error = null)
{
    /// <summary>A failed lookup.</summary>
    public static DnsAnswer<T> Failed(DnsStatus status, string name, string error) => new(status, [], false, name, error);
}

/// <summary>One MX record.</summary>
/// <param name="Preference">Lower is preferred.</param>
/// <param name="Exchange">Host name, lower case, no trailing dot; "" for the null MX "." (RFC 7505).</param>
public sealed record MxRecord(ushort Preference, string Exchange);

/// <summary>One TLSA record as it came off the wire (RFC 6698 §2.1).</summary>
/// <param name="Usage">Certificate usage (0-3).</param>
/// <param name="Selector">Selector (0-1).</param>
/// <param name="MatchingType">Matching type (0-2).</param>
/// <param name="Data">Certificate association data.</param>
public sealed record TlsaRecordData(byte Usage, byte Selector, byte MatchingType, byte[] Data)
{
    /// <summary>Presentation form, as RFC 8460 §4.5 wants in a policy string: "3 1 1 ABCD...".</summary>
    public override string ToString() => $"{Usage} {Selector} {MatchingType} {Convert.ToHexString(Data)}";
}
