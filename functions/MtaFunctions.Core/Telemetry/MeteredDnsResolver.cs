using System.Diagnostics;
using System.Net;
using MtaFunctions.Core.Dns;

namespace MtaFunctions.Core.Telemetry;

/// <summary>Times every query of the delivery's resolver (<c>mtafunctions.dns.duration</c>, <c>.failures</c>).</summary>
public sealed class MeteredDnsResolver(IDnsResolver inner) : IDnsResolver
{
    /// <summary>The resolver measured.</summary>
    public IDnsResolver Inner => inner;

    public Task<DnsAnswer<MxRecord>> QueryMxAsync(string domain, CancellationToken cancellationToken) =>
        MeasureAsync("MX", () => inner.QueryMxAsync(domain, cancellationToken));

    public Task<DnsAnswer<IPAddress>> QueryAddressesAsync(string host, CancellationToken cancellationToken) =>
        MeasureAsync("A/AAAA", () => inner.QueryAddressesAsync(host, cancellationToken));

    public Task<DnsAnswer<string>> QueryTxtAsync(string name, CancellationToken cancellationToken) =>
        MeasureAsync("TXT", () => inner.QueryTxtAsync(name, cancellationToken));

    public Task<DnsAnswer<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken cancellationToken) =>
        MeasureAsync("TLSA", () => inner.QueryTlsaAsync(name, cancellationToken));

    private static async Task<DnsAnswer<T>> MeasureAsync<T>(string type, Func<Task<DnsAnswer<T>>> query)
    {
        var started = Stopwatch.GetTimestamp();
        var answer = await query().ConfigureAwait(false);
        var typeTag = new KeyValuePair<string, object?>("dns.question.type", type);
        MtaTelemetry.DnsDuration.Record(
            Stopwatch.GetElapsedTime(started).TotalSeconds, typeTag, new("mta.dns.status", answer.Status.ToString().ToLowerInvariant()));
        if (answer.Status is not (DnsStatus.Found or DnsStatus.NoRecords or DnsStatus.NotFound))
        {
            MtaTelemetry.DnsFailures.Add(1, typeTag, new("mta.dns.status", answer.Status.ToString().ToLowerInvariant()));
        }

        return answer;
    }
}
