using System.Globalization;
using System.Net;
using DnsClient;
using DnsClient.Protocol;
using MtaFunctions.Core.Configuration;

namespace MtaFunctions.Core.Dns;

/// <summary>
/// <see cref="IDnsResolver"/> over DnsClient, asking the configured resolvers (or the system's).
/// </summary>
/// <remarks>
/// The DO bit is always set, since resolvers only set AD when it is (checked with Unbound). Answers are kept for
/// their TTL, at most <see cref="DnsSettings.CacheMaxTtl"/>: a message to a big provider would otherwise ask the
/// same MX, address and TLSA questions again (about a sixth of the host's CPU at 100 messages/s to one domain).
/// Failures (SERVFAIL, NXDOMAIN, timeouts) are never kept, so a fixed zone is seen at the next attempt. The
/// cached answer is the resolver's whole response, its AD flag and server included. <c>ContinueOnDnsError</c> is off so
/// that a SERVFAIL is reported as such instead of being skipped to the next server: for DANE a SERVFAIL means
/// "cannot tell" (RFC 7672 §2.1.1), never "no records".
/// </remarks>
public sealed class DnsClientResolver : IDnsResolver
{
    private static readonly IdnMapping Idn = new();
    private readonly LookupClient _client;
    private readonly IReadOnlySet<IPEndPoint> _trusted;

    /// <summary>Creates the resolver from settings.</summary>
    /// <param name="settings">Servers and timeout.</param>
    /// <param name="trustedValidators">Resolvers whose AD flag is believed; an AD from any other server is ignored.</param>
    public DnsClientResolver(DnsSettings settings, IEnumerable<IPEndPoint>? trustedValidators = null)
    {
        var options = settings.Servers.Count > 0
            ? new LookupClientOptions(settings.Servers.Select(s => new NameServer(s)).ToArray())
            : new LookupClientOptions();
        options.UseCache = settings.CacheMaxTtl > TimeSpan.Zero;
        options.MaximumCacheTimeout = settings.CacheMaxTtl > TimeSpan.Zero ? settings.CacheMaxTtl : null;
        options.CacheFailedResults = false;
        options.RequestDnsSecRecords = true;
        options.UseTcpFallback = true;
        options.ThrowDnsErrors = false;
        options.ContinueOnDnsError = false;
        options.ContinueOnEmptyResponse = false;
        options.UseRandomNameServer = false;
        options.Timeout = settings.Timeout;
        options.Retries = 1;
        _client = new LookupClient(options);
        _trusted = (trustedValidators ?? []).ToHashSet();
    }

    /// <inheritdoc />
    public async Task<DnsAnswer<MxRecord>> QueryMxAsync(string domain, CancellationToken cancellationToken)
    {
        var answer = await QueryAsync(domain, QueryType.MX, cancellationToken).ConfigureAwait(false);
        return Map(answer, domain, r => r.Answers.MxRecords()
            .Select(mx => new MxRecord(mx.Preference, Normalize(mx.Exchange.Value)))
            .ToList());
    }

    /// <inheritdoc />
    public async Task<DnsAnswer<IPAddress>> QueryAddressesAsync(string host, CancellationToken cancellationToken)
    {
        var v4Task = QueryAsync(host, QueryType.A, cancellationToken);
        var v6Task = QueryAsync(host, QueryType.AAAA, cancellationToken);
        var v4 = Map(await v4Task.ConfigureAwait(false), host, r => r.Answers.ARecords().Select(a => a.Address).ToList());
        var v6 = Map(await v6Task.ConfigureAwait(false), host, r => r.Answers.AaaaRecords().Select(a => a.Address).ToList());

        if (!v4.Status.IsDefinite() || !v6.Status.IsDefinite())
        {
            // Spec note: one family failing (an AAAA SERVFAIL is common) does not throw the other's good
            // addresses away: they are used, but never as DNSSEC-secure, since DANE must not see half of the
            // answer as secure (RFC 7672 §2.2.1 wants both address lookups secure).
            var good = v4.Status.IsDefinite() ? v4 : v6;
            return good.Status.IsDefinite() && good.Records.Count > 0 ? good with { Authenticated = false } : v4.Status.IsDefinite() ? v6 : v4;
        }

        var records = v4.Records.Concat(v6.Records).ToList();
        var status = records.Count > 0 ? DnsStatus.Found
            : v4.Status == DnsStatus.NotFound ? DnsStatus.NotFound
            : DnsStatus.NoRecords;
        return new DnsAnswer<IPAddress>(status, records, v4.Authenticated && v6.Authenticated, v4.CanonicalName);
    }

    /// <inheritdoc />
    public async Task<DnsAnswer<string>> QueryTxtAsync(string name, CancellationToken cancellationToken)
    {
        var answer = await QueryAsync(name, QueryType.TXT, cancellationToken).ConfigureAwait(false);
        return Map(answer, name, r => r.Answers.TxtRecords().Select(t => string.Concat(t.Text)).ToList());
    }

    /// <inheritdoc />
    public async Task<DnsAnswer<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken cancellationToken)
    {
        var answer = await QueryAsync(name, QueryType.TLSA, cancellationToken).ConfigureAwait(false);
        return Map(answer, name, r => r.Answers.TlsaRecords()
            .Select(t => new TlsaRecordData((byte)t.CertificateUsage, (byte)t.Selector, (byte)t.MatchingType, t.CertificateAssociationData.ToArray()))
            .ToList());
    }

    /// <summary>Converts a name to the A-label form DNS is asked in (IDN, RFC 5891).</summary>
    public static string ToAscii(string name)
    {
        var trimmed = name.TrimEnd('.');
        return trimmed.All(char.IsAscii) ? trimmed.ToLowerInvariant() : Idn.GetAscii(trimmed).ToLowerInvariant();
    }

    private static string Normalize(string name) => name.TrimEnd('.').ToLowerInvariant();

    private async Task<(IDnsQueryResponse? Response, string? Error, DnsStatus FailStatus)> QueryAsync(
        string name, QueryType type, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _client.QueryAsync(ToAscii(name), type, QueryClass.IN, cancellationToken).ConfigureAwait(false);
            return (response, null, DnsStatus.Error);
        }
        catch (DnsResponseException e) when (e.Code is DnsResponseCode.ConnectionTimeout)
        {
            return (null, $"{type} {name}: {e.Message}", DnsStatus.Timeout);
        }
        catch (DnsResponseException e)
        {
            return (null, $"{type} {name}: {e.Message}", DnsStatus.Error);
        }
        catch (ArgumentException e)
        {
            return (null, $"{type} {name}: not a valid DNS name ({e.Message})", DnsStatus.Error);
        }
    }

    private DnsAnswer<T> Map<T>(
        (IDnsQueryResponse? Response, string? Error, DnsStatus FailStatus) result, string name,
        Func<IDnsQueryResponse, IReadOnlyList<T>> select)
    {
        var (response, error, failStatus) = result;
        if (response is null)
        {
            return DnsAnswer<T>.Failed(failStatus, name, error!);
        }

        var canonical = response.Answers.CnameRecords().LastOrDefault()?.CanonicalName.Value is { } cname
            ? Normalize(cname)
            : ToAscii(name);
        var authenticated = response.Header.IsAuthenticData && _trusted.Contains(new IPEndPoint(IPAddress.Parse(response.NameServer.Address), response.NameServer.Port));
        switch (response.Header.ResponseCode)
        {
            case DnsHeaderResponseCode.NoError:
                var records = select(response);
                return new DnsAnswer<T>(records.Count > 0 ? DnsStatus.Found : DnsStatus.NoRecords, records, authenticated, canonical);
            case DnsHeaderResponseCode.NotExistentDomain:
                return new DnsAnswer<T>(DnsStatus.NotFound, [], authenticated, canonical);
            case DnsHeaderResponseCode.ServerFailure:
                return DnsAnswer<T>.Failed(DnsStatus.ServFail, name, $"{name}: SERVFAIL from {response.NameServer}");
            default:
                return DnsAnswer<T>.Failed(DnsStatus.Error, name, $"{name}: {response.Header.ResponseCode} from {response.NameServer}");
        }
    }
}
