using System.Security.Cryptography;

namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>
/// The JSON of a received report exactly as it arrived (after gzip), kept for audit: its length and SHA-256,
/// and its bytes when small; a large one is not held in memory but read again, inflating as it goes, from the
/// request body when it is stored.
/// </summary>
/// <param name="Length">Bytes of JSON.</param>
/// <param name="Sha256">SHA-256 of the JSON (part of the report's key).</param>
/// <param name="Bytes">The JSON when at most <see cref="MaxHeldBytes"/>, else null.</param>
/// <param name="Open">Reads the JSON from its start; each call gives a new stream.</param>
public sealed record ReceivedReportJson(long Length, byte[] Sha256, ReadOnlyMemory<byte>? Bytes, Func<Stream> Open)
{
    /// <summary>Largest JSON held in memory (and kept in the report's claim row rather than a blob).</summary>
    public const int MaxHeldBytes = 48 * 1024;

    /// <summary>JSON already in memory.</summary>
    public static ReceivedReportJson Of(byte[] json) =>
        new(json.Length, SHA256.HashData(json), json.Length <= MaxHeldBytes ? new ReadOnlyMemory<byte>(json) : (ReadOnlyMemory<byte>?)null, () => new MemoryStream(json, writable: false));
}
