using System.Net;

namespace MtaFunctions.Core.Configuration;

/// <summary>Outbound delivery settings (<c>Queue:Outbound:*</c>).</summary>
public sealed record OutboundSettings
{
    public required string Hostname { get; init; }
    public required TlsSettings Tls { get; init; }

    /// <summary>Per destination domain overrides; keys are lower-case domains or <c>*.domain</c>.</summary>
    public required IReadOnlyDictionary<string, TlsSettings> Rules { get; init; }

    /// <summary>The global relay (<c>Queue:Outbound:Relay</c>); null = deliver to the recipients' MX hosts.</summary>
    public DeliveryRoute? Relay { get; init; }

    /// <summary>Per-domain routes; keys are lower-case domains or <c>*.domain</c>.</summary>
    public IReadOnlyDictionary<string, DeliveryRoute> Routes { get; init; } = new Dictionary<string, DeliveryRoute>();

    /// <summary>Fleet-wide connection and rate limits per destination; read by the destination limiter.</summary>
    public DestinationLimitSettings Limits { get; init; } = new() { Default = new DestinationLimit(20, 0), MaxWait = TimeSpan.FromMinutes(1) };

    /// <summary>RCPT commands per transaction (<c>Queue:Outbound:Smtp:MaxRecipientsPerTransaction</c>); read by the SMTP sender.</summary>
    public int MaxRecipientsPerTransaction { get; init; } = 50;

    /// <summary>Largest message in bytes (<c>Queue:Outbound:MaxMessageSize</c>); read at enqueue and before delivery.</summary>
    public long MaxMessageSize { get; init; } = 26_214_400;

    public required IReadOnlyList<TimeSpan> RetrySchedule { get; init; }
    public required TimeSpan MessageLifetime { get; init; }

    /// <summary>How long delivery rows are kept after their last change (<c>Queue:Outbound:Deliveries:Retention</c>); zero keeps them.</summary>
    public TimeSpan DeliveriesRetention { get; init; } = TimeSpan.FromDays(30);
    public required int SmtpPort { get; init; }
    public required TimeSpan ConnectTimeout { get; init; }
    public required TimeSpan CommandTimeout { get; init; }
    public string? ExtraRootCasFile { get; init; }
    public required bool AllowPrivateDestinations { get; init; }
    public required int MaxParallelDomains { get; init; }
    public required int MaxMessagesPerConnection { get; init; }
    public required TimeSpan ConnectionIdleTime { get; init; }

    /// <summary>
    /// The public addresses mail leaves from (<c>Queue:Outbound:EgressIps</c>; behind a NAT gateway the socket's
    /// local address is private). Read by DomainDeliverer for TLS-RPT sending-mta-ip (RFC 8460 §4.4).
    /// </summary>
    public IReadOnlyList<IPAddress> EgressIps { get; init; } = [];

    /// <summary>The address TLS-RPT reports as ours: the egress address of the peer's family, else the local one.</summary>
    public string? SendingIp(string? localAddress, string? receivingIp)
    {
        if (EgressIps.Count == 0)
        {
            return localAddress;
        }

        var family = IPAddress.TryParse(receivingIp ?? localAddress, out var peer) ? peer.AddressFamily : EgressIps[0].AddressFamily;
        return (EgressIps.FirstOrDefault(a => a.AddressFamily == family) ?? EgressIps[0]).ToString();
    }

    /// <summary>Timeout of one MTA-STS policy fetch (<c>Queue:Outbound:Timeout:MtaSts</c>).</summary>
    public TimeSpan MtaStsTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Port of MTA-STS policy hosts (<c>Queue:Outbound:MtaSts:Port</c>); 443 outside tests.</summary>
    public int MtaStsPort { get; init; } = 443;

    /// <summary>The TLS settings for a destination: an exact rule, else the nearest <c>*.parent</c> rule, else the defaults.</summary>
    public TlsSettings TlsFor(string domain) => DomainRuleSections.Match(Rules, domain) ?? Tls;

    /// <summary>The next hop for a recipient domain: an exact route, else the nearest <c>*.parent</c> route, else the relay; null = MX lookup.</summary>
    public DeliveryRoute? RouteFor(string domain) => DomainRuleSections.Match(Routes, domain) ?? Relay;

    /// <summary>Delay before attempt number <paramref name="attemptsMade"/> + 1; the schedule's last step repeats.</summary>
    public TimeSpan RetryDelay(int attemptsMade) =>
        RetrySchedule[Math.Clamp(attemptsMade - 1, 0, RetrySchedule.Count - 1)];
}

/// <summary>Resolver settings (<c>Dns:*</c>).</summary>
public sealed record DnsSettings
{
    /// <summary>Resolvers to ask; empty means the system's.</summary>
    public required IReadOnlyList<IPEndPoint> Servers { get; init; }
    public required TimeSpan Timeout { get; init; }

    /// <summary>Longest reuse of an answer in this process, capped by its TTL; zero (the default here) asks every time.</summary>
    public TimeSpan CacheMaxTtl { get; init; }

    /// <summary>Resolvers whose AD flag is believed (RFC 7672 §2.1.3); read by DnsClientResolver, DANE depends on it.</summary>
    public IReadOnlyList<IPEndPoint> TrustedValidators { get; init; } = [];

    /// <summary>Who validates DNSSEC; read by AddMtaCore to choose the resolver.</summary>
    public DnssecValidation Dnssec { get; init; } = DnssecValidation.Resolver;

    /// <summary>Root DS records for in-process validation (null: built in); read by InProcessDnssecResolver.</summary>
    public string? TrustAnchorsFile { get; init; }

    /// <summary>A signed name the DANE resolver probe asks about; read by DaneResolverProbe.</summary>
    public string DnssecProbeName { get; init; } = ".";
}

/// <summary>All settings, read and checked once at start-up.</summary>
public sealed record MtaSettings
{
    public required OutboundSettings Outbound { get; init; }
    public required DnsSettings Dns { get; init; }

    /// <summary>Outgoing TLS reports (RFC 8460); read by the recorder, the flusher and the report sender.</summary>
    public required TlsReportSettings Report { get; init; }

    /// <summary>Inbound TLS-RPT reports (<c>Report:Tls:Inbound:*</c>).</summary>
    public TlsRptInboundSettings TlsRptInbound { get; init; } = TlsRptInboundSettings.Default;
}

/// <summary>The values of <c>Dns:Dnssec</c>.</summary>
public enum DnssecValidation
{
    /// <summary>Believe the AD flag of the resolvers in <c>Dns:TrustedValidators</c> (RFC 7672 §2.1.3).</summary>
    Resolver,

    /// <summary>Validate in this process from the root trust anchors (ARSoft.Tools.Net).</summary>
    InProcess,
}
