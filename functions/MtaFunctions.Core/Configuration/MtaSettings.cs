using System.Net;

namespace MtaFunctions.Core.Configuration;

/// <summary>Outbound delivery settings (<c>Queue:Outbound:*</c>).</summary>
public sealed record OutboundSettings
{
    public required string Hostname { get; init; }
    public required TlsSettings Tls { get; init; }

    /// <summary>Per destination domain overrides; keys are lower-case domains or <c>*.domain</c>.</summary>
    public required IReadOnlyDictionary<string, TlsSettings> Rules { get; init; }

    public required IReadOnlyList<TimeSpan> RetrySchedule { get; init; }
    public required TimeSpan MessageLifetime { get; init; }
    public required int SmtpPort { get; init; }
    public required TimeSpan ConnectTimeout { get; init; }
    public required TimeSpan CommandTimeout { get; init; }
    public string? ExtraRootCasFile { get; init; }
    public required bool AllowPrivateDestinations { get; init; }
    public required int MaxParallelDomains { get; init; }
    public required int MaxMessagesPerConnection { get; init; }
    public required TimeSpan ConnectionIdleTime { get; init; }

    /// <summary>The TLS settings for a destination: an exact rule, else the nearest <c>*.parent</c> rule, else the defaults.</summary>
    public TlsSettings TlsFor(string domain)
    {
        domain = domain.TrimEnd('.').ToLowerInvariant();
        if (Rules.TryGetValue(domain, out var exact))
        {
            return exact;
        }

        for (var dot = domain.IndexOf('.', StringComparison.Ordinal); dot >= 0; dot = domain.IndexOf('.', dot + 1))
        {
            if (Rules.TryGetValue("*" + domain[dot..], out var wildcard))
            {
                return wildcard;
            }
        }

        return Tls;
    }

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
}

/// <summary>All settings, read and checked once at start-up.</summary>
public sealed record MtaSettings
{
    public required OutboundSettings Outbound { get; init; }
    public required DnsSettings Dns { get; init; }

    /// <summary>Outgoing TLS reports (RFC 8460); read by the recorder, the flusher and the report sender.</summary>
    public required TlsReportSettings Report { get; init; }
}
