using MtaFunctions.Core.Dns;

namespace MtaFunctions.Core.Policy.Dane;

/// <summary>
/// One TLSA record (RFC 6698 §2.1) judged for SMTP: usable, or unusable with the reason.
/// </summary>
/// <remarks>
/// SMTP uses only DANE-TA(2) and DANE-EE(3) (RFC 7672 §3.1.3). A record with an unknown field value or data of
/// the wrong length is discarded before digest agility is applied (RFC 7671 §9). Discarded records still
/// appear in the TLS-RPT policy string, since the receiver published them.
/// </remarks>
/// <param name="Usage">Certificate usage byte.</param>
/// <param name="Selector">Selector byte.</param>
/// <param name="MatchingType">Matching type byte.</param>
/// <param name="Data">Certificate association data.</param>
public sealed record TlsaRecord(byte Usage, byte Selector, byte MatchingType, byte[] Data)
{
    /// <summary>Null when the record can authenticate an SMTP server; otherwise why not.</summary>
    public string? UnusableReason { get; } = Judge(Usage, Selector, MatchingType, Data);

    /// <summary>True when the record can authenticate an SMTP server.</summary>
    public bool IsUsable => UnusableReason is null;

    /// <summary>The usage as an enum (meaningful only when usable).</summary>
    public TlsaUsage KnownUsage => (TlsaUsage)Usage;

    /// <summary>The selector as an enum (meaningful only when usable).</summary>
    public TlsaSelector KnownSelector => (TlsaSelector)Selector;

    /// <summary>The matching type as an enum (meaningful only when usable).</summary>
    public TlsaMatchingType KnownMatchingType => (TlsaMatchingType)MatchingType;

    /// <summary>Takes a record as the resolver returned it.</summary>
    public static TlsaRecord From(TlsaRecordData data) => new(data.Usage, data.Selector, data.MatchingType, data.Data);

    /// <summary>Presentation form (RFC 6698 §2.2), as RFC 8460 §4.5 wants in a policy string: "3 1 1 ABCD...".</summary>
    public override string ToString() => $"{Usage} {Selector} {MatchingType} {Convert.ToHexString(Data)}";

    /// <summary>Value equality over the bytes of the data too.</summary>
    public bool Equals(TlsaRecord? other) =>
        other is not null && Usage == other.Usage && Selector == other.Selector && MatchingType == other.MatchingType
        && Data.AsSpan().SequenceEqual(other.Data);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Usage, Selector, MatchingType, Data.Length);

    private static string? Judge(byte usage, byte selector, byte matchingType, byte[] data)
    {
        // RFC 7672 §3.1.3: PKIX-TA(0) and PKIX-EE(1) are not usable for opportunistic SMTP.
        if (usage is (byte)TlsaUsage.PkixTa or (byte)TlsaUsage.PkixEe)
        {
            return $"usage {usage} (PKIX) is unusable for SMTP (RFC 7672 §3.1.3)";
        }

        if (usage > (byte)TlsaUsage.DaneEe)
        {
            return $"usage {usage} is unknown";
        }

        if (selector > (byte)TlsaSelector.Spki)
        {
            return $"selector {selector} is unknown";
        }

        // RFC 7671 §9: records with a wrong digest length are malformed and discarded.
        return matchingType switch
        {
            (byte)TlsaMatchingType.Full when data.Length == 0 => "matching type 0 with empty data",
            (byte)TlsaMatchingType.Sha256 when data.Length != 32 => $"SHA-256 data of {data.Length} bytes, not 32",
            (byte)TlsaMatchingType.Sha512 when data.Length != 64 => $"SHA-512 data of {data.Length} bytes, not 64",
            > (byte)TlsaMatchingType.Sha512 => $"matching type {matchingType} is unknown",
            _ => null,
        };
    }
}
