using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MtaFunctions.Core.Policy.Dane;

/// <summary>Compares a certificate with a TLSA record's selector, matching type and data (RFC 6698 §2.1.2–§2.1.3).</summary>
public static class TlsaMatcher
{
    /// <summary>True when <paramref name="certificate"/> is what <paramref name="record"/> describes.</summary>
    /// <remarks>Only meaningful for usable records; unusable ones never match.</remarks>
    public static bool Matches(TlsaRecord record, X509Certificate2 certificate)
    {
        if (!record.IsUsable)
        {
            return false;
        }

        // RFC 6698 §2.1.2: Cert(0) selects the DER certificate, SPKI(1) the DER SubjectPublicKeyInfo.
        byte[] selected = record.KnownSelector == TlsaSelector.Cert
            ? certificate.RawData
            : certificate.PublicKey.ExportSubjectPublicKeyInfo();

        // RFC 6698 §2.1.3: Full(0) compares the bytes, 1 and 2 their SHA-256 / SHA-512 digest.
        var expected = record.KnownMatchingType switch
        {
            TlsaMatchingType.Sha256 => SHA256.HashData(selected),
            TlsaMatchingType.Sha512 => SHA512.HashData(selected),
            _ => selected,
        };
        return CryptographicOperations.FixedTimeEquals(expected, record.Data);
    }
}
