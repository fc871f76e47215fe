using System.Globalization;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Benchmarks;

/// <summary>The LocalHost settings of a benchmark that delivers to one loopback sink through a test DNS server.</summary>
public static class SinkHostSettings
{
    public static Dictionary<string, string> For(AzuriteFixture storage, TestDnsServer dns, TestCertificateAuthority ca, int sinkPort, string hostname) =>
        new()
        {
            ["AzureWebJobsStorage"] = storage.ConnectionString,
            ["Dns:Servers"] = dns.EndPoint.ToString(),
            ["Queue:Outbound:Smtp:Port"] = sinkPort.ToString(CultureInfo.InvariantCulture),
            ["Queue:Outbound:Tls:ExtraRootCas"] = ca.PemFile,
            ["Queue:Outbound:AllowPrivateDestinations"] = "true",
            ["Queue:Outbound:Hostname"] = hostname,
            ["LocalHost:Http:Port"] = "0",
        };
}
