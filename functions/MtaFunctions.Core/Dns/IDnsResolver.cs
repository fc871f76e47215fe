using System.Net;

namespace MtaFunctions.Core.Dns;

/// <summary>
/// The resolver seam: every DNS question the MTA asks, with answers that keep failures, NXDOMAIN and
/// NODATA apart and say whether DNSSEC authenticated them.
/// </summary>
public interface IDnsResolver
{
    /// <summary>MX records of a domain.</summary>
    Task<DnsAnswer<MxRecord>> QueryMxAsync(string domain, CancellationToken cancellationToken);

    /// <summary>A and AAAA records of a host (IPv4 first). Authenticated only when both answers are.</summary>
    Task<DnsAnswer<IPAddress>> QueryAddressesAsync(string host, CancellationToken cancellationToken);

    /// <summary>TXT records of a name, each record's character-strings joined without spaces.</summary>
    Task<DnsAnswer<string>> QueryTxtAsync(string name, CancellationToken cancellationToken);

    /// <summary>TLSA records of a name such as <c>_25._tcp.mx.example.com</c>.</summary>
    Task<DnsAnswer<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken cancellationToken);
}
