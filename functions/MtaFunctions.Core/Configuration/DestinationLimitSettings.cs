namespace MtaFunctions.Core.Configuration;

/// <summary>Limits of one destination (an MX host or a route) across every instance.</summary>
/// <param name="MaxConnections">Concurrent SMTP connections at most.</param>
/// <param name="MessagesPerMinute">Messages started per minute at most; 0 = no rate limit.</param>
public sealed record DestinationLimit(int MaxConnections, int MessagesPerMinute);

/// <summary>
/// Fleet-wide limits per destination (<c>Queue:Outbound:Limits:*</c>), in the spirit of Postfix's
/// <c>default_destination_concurrency_limit</c> and <c>default_destination_rate_delay</c>, but counted across
/// all instances on Azure Storage.
/// </summary>
public sealed record DestinationLimitSettings
{
    /// <summary>Defaults of every destination without a rule or route of its own.</summary>
    public required DestinationLimit Default { get; init; }

    /// <summary>How long one delivery waits for a free slot before its recipients go back on the queue (not counted as an attempt).</summary>
    public required TimeSpan MaxWait { get; init; }

    /// <summary>After a busy reply, the limit grows back by one connection per this interval.</summary>
    public TimeSpan BusyRecovery { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Per destination overrides, keyed by MX host name, recipient domain or <c>*.domain</c>.</summary>
    public IReadOnlyDictionary<string, DestinationLimit> Rules { get; init; } = new Dictionary<string, DestinationLimit>();

    /// <summary>The limit of a session to <paramref name="mxHost"/> for <paramref name="domain"/>: a rule for the host, else for the domain, else the default.</summary>
    public DestinationLimit For(string mxHost, string domain) =>
        DomainRuleSections.Match(Rules, mxHost) ?? DomainRuleSections.Match(Rules, domain) ?? Default;

    /// <summary>The limit of a route: its own values, else the default.</summary>
    public DestinationLimit For(DeliveryRoute route) =>
        new(route.MaxConnections ?? Default.MaxConnections, route.MessagesPerMinute ?? Default.MessagesPerMinute);
}
