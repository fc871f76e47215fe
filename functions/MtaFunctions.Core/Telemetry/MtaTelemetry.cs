using System.Diagnostics;
using System.Diagnostics.Metrics;
using MtaFunctions.Core.Delivery;

namespace MtaFunctions.Core.Telemetry;

/// <summary>
/// The app's traces and metrics (OpenTelemetry through System.Diagnostics): one <see cref="ActivitySource"/> and
/// one <see cref="Meter"/>, both named <see cref="Name"/>. Exported to Application Insights and/or OTLP by
/// <see cref="MtaTelemetryServiceCollectionExtensions.AddMtaTelemetry"/>.
/// </summary>
/// <remarks>
/// Attributes never carry recipient local parts or message content: destination domains, MX hosts, policy
/// names and result types only. Recording is in-process and lock-free; it never throws into the delivery.
/// </remarks>
public static class MtaTelemetry
{
    /// <summary>Name of the activity source and of the meter.</summary>
    public const string Name = "MtaFunctions";

    /// <summary>Attribute: the TLS policy a session ran under (dane, sts, pkix, opportunistic, plaintext, none).</summary>
    public const string PolicyTag = "mta.tls.policy";

    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);

    /// <summary>Recipients delivered (2xx after DATA), by <see cref="PolicyTag"/>.</summary>
    public static readonly Counter<long> Delivered = Meter.CreateCounter<long>(
        "mtafunctions.messages.delivered", "{recipient}", "Recipients delivered, by TLS policy applied");

    /// <summary>Recipients deferred (4xx, no MX reachable), by <see cref="PolicyTag"/>.</summary>
    public static readonly Counter<long> Deferred = Meter.CreateCounter<long>(
        "mtafunctions.messages.deferred", "{recipient}", "Recipients deferred for a later attempt, by TLS policy applied");

    /// <summary>Recipients that failed for good (5xx, lifetime), by <see cref="PolicyTag"/>.</summary>
    public static readonly Counter<long> Bounced = Meter.CreateCounter<long>(
        "mtafunctions.messages.bounced", "{recipient}", "Recipients failed permanently (bounced or failed without DSN), by TLS policy applied");

    /// <summary>Queue messages moved to the poison queue.</summary>
    public static readonly Counter<long> Poisoned = Meter.CreateCounter<long>(
        "mtafunctions.messages.poisoned", "{message}", "Queue messages moved to outbound-poison");

    /// <summary>TLS sessions by RFC 8460 result type (<c>success</c> or the failure) and policy type.</summary>
    public static readonly Counter<long> TlsSessions = Meter.CreateCounter<long>(
        "mtafunctions.tls.sessions", "{session}", "TLS session attempts by TLS-RPT result type");

    /// <summary>From queuedAt to the final outcome of a recipient.</summary>
    public static readonly Histogram<double> DeliveryLatency = Meter.CreateHistogram<double>(
        "mtafunctions.delivery.latency", "s", "Time from queuedAt to a recipient's final outcome");

    /// <summary>One SMTP session (connect to QUIT, or to the pool).</summary>
    public static readonly Histogram<double> SmtpSessionDuration = Meter.CreateHistogram<double>(
        "mtafunctions.smtp.session.duration", "s", "Duration of one SMTP session to one MX address");

    /// <summary>One DNS query of the delivery's resolver.</summary>
    public static readonly Histogram<double> DnsDuration = Meter.CreateHistogram<double>(
        "mtafunctions.dns.duration", "s", "Duration of a DNS query, by record type and status");

    /// <summary>DNS queries that failed (SERVFAIL, timeout, bogus), not NXDOMAIN/NODATA.</summary>
    public static readonly Counter<long> DnsFailures = Meter.CreateCounter<long>(
        "mtafunctions.dns.failures", "{query}", "DNS queries that failed, by record type");

    /// <summary>One MTA-STS policy fetch.</summary>
    public static readonly Histogram<double> MtaStsFetchDuration = Meter.CreateHistogram<double>(
        "mtafunctions.mtasts.fetch.duration", "s", "Duration of an MTA-STS policy fetch");

    /// <summary>MTA-STS policy fetches that failed, by TLS-RPT result type.</summary>
    public static readonly Counter<long> MtaStsFetchFailures = Meter.CreateCounter<long>(
        "mtafunctions.mtasts.fetch.failures", "{fetch}", "MTA-STS policy fetches that failed");

    /// <summary>Attribute: the scheme of a TLS-RPT rua (<c>mailto</c>, <c>https</c>).</summary>
    public const string RuaSchemeTag = "tlsrpt.rua.scheme";

    /// <summary>Outgoing TLS reports handed to an rua (queued for mailto:, 2xx for https:), by <see cref="RuaSchemeTag"/>.</summary>
    public static readonly Counter<long> TlsReportsSent = Meter.CreateCounter<long>(
        "mtafunctions.tlsrpt.outbound.sent", "{report}", "Outgoing TLS reports sent to an rua, by rua scheme");

    /// <summary>Outgoing TLS report attempts that failed (retried later or given up), by <see cref="RuaSchemeTag"/>.</summary>
    public static readonly Counter<long> TlsReportsFailed = Meter.CreateCounter<long>(
        "mtafunctions.tlsrpt.outbound.failed", "{report}", "Outgoing TLS report attempts that failed, by rua scheme");

    private static long _queueLength = -1;
    private static long _oldestAgeMs = -1;

    static MtaTelemetry()
    {
        Meter.CreateObservableGauge("mtafunctions.queue.length", ObserveQueueLength, "{message}", "Queue messages on the outbound queue (approximate, hidden retries included; a batch of envelopes counts once)");
        Meter.CreateObservableGauge("mtafunctions.queue.oldest_age", ObserveOldestAge, "s", "Age (from queuedAt) of the oldest message due now on the outbound queue");
    }

    /// <summary>Sets the last queue sample (<see cref="QueueMetricsSampler"/>).</summary>
    public static void SetQueueSample(long length, TimeSpan? oldestAge)
    {
        Interlocked.Exchange(ref _queueLength, length);
        Interlocked.Exchange(ref _oldestAgeMs, oldestAge is { } age ? (long)age.TotalMilliseconds : 0);
    }

    private static IEnumerable<Measurement<long>> ObserveQueueLength() =>
        Interlocked.Read(ref _queueLength) is var n and >= 0 ? [new Measurement<long>(n)] : [];

    private static IEnumerable<Measurement<double>> ObserveOldestAge() =>
        Interlocked.Read(ref _oldestAgeMs) is var ms and >= 0 ? [new Measurement<double>(ms / 1000.0)] : [];

    /// <summary>
    /// The policy class of an outcome: <c>dane</c>, <c>sts</c> (enforced MTA-STS), <c>pkix</c> (certificate verified
    /// otherwise), <c>opportunistic</c> (encrypted, not authenticated), <c>plaintext</c>, or <c>none</c> (no session).
    /// </summary>
    public static string PolicyClass(RecipientOutcome outcome)
    {
        var session = outcome.Session;
        if (session is null)
        {
            return "none";
        }

        if (session.Tls is not { Version: not "none" } tls)
        {
            return "plaintext";
        }

        if (tls.Verdict?.Verified != true)
        {
            return "opportunistic";
        }

        return outcome.PolicyApplied switch
        {
            "dane" => "dane",
            "sts" when outcome.StsEnforced => "sts",
            _ => "pkix",
        };
    }

    /// <summary>Counts the outcomes of one attempt for one domain, and the latency of the final ones.</summary>
    public static void CountOutcomes(IEnumerable<RecipientOutcome> outcomes, DateTimeOffset queuedAt, DateTimeOffset now)
    {
        foreach (var outcome in outcomes)
        {
            var policy = new KeyValuePair<string, object?>(PolicyTag, PolicyClass(outcome));
            switch (outcome.Kind)
            {
                case OutcomeKind.Delivered:
                    Delivered.Add(1, policy);
                    DeliveryLatency.Record((now - queuedAt).TotalSeconds, policy, new("mta.outcome", "delivered"));
                    break;
                case OutcomeKind.Temporary:
                    Deferred.Add(1, policy);
                    break;
                case OutcomeKind.Permanent:
                    Bounced.Add(1, policy);
                    DeliveryLatency.Record((now - queuedAt).TotalSeconds, policy, new("mta.outcome", "bounced"));
                    break;
            }
        }
    }
}
