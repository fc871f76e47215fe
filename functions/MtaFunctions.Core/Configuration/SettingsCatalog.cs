namespace MtaFunctions.Core.Configuration;

/// <summary>
/// The list of every setting with its default and description: the source README, the
/// <c>local.settings.json.example</c> and the Bicep app settings are checked against.
/// </summary>
public static class SettingsCatalog
{
    /// <summary>Every setting, in the order README documents them.</summary>
    public static IReadOnlyList<SettingDefinition> All { get; } =
    [
        new(SettingKeys.StartTls, "optional", "STARTTLS: optional (upgrade when offered) | require (defer when not offered) | disable (never upgrade)"),
        new(SettingKeys.AllowInvalidCerts, "false", "true accepts invalid server certificates under opportunistic TLS; never relaxes DANE or an enforced MTA-STS policy"),
        new(SettingKeys.Dane, "optional", "DANE (RFC 7672): optional | require | disable"),
        new(SettingKeys.MtaSts, "optional", "MTA-STS (RFC 8461): optional | require | disable"),
        new(SettingKeys.ExtraRootCas, "", "PEM file of extra trusted root CAs (private MX hosts, tests); the system store stays trusted"),
        new(SettingKeys.Hostname, "", "EHLO host name and Reporting-MTA of DSNs (default: the machine's host name)"),
        new(SettingKeys.RetrySchedule, "2m,5m,10m,20m,30m,1h,2h,4h,8h", "delays between attempts of a deferred domain; the last one repeats"),
        new(SettingKeys.MessageLifetime, "5d", "how long a message is retried before it bounces"),
        new(SettingKeys.SmtpPort, "25", "TCP port of receiving MX hosts"),
        new(SettingKeys.ConnectTimeout, "30s", "TCP connect timeout per MX address"),
        new(SettingKeys.CommandTimeout, "5m", "timeout of each SMTP command and of the DATA transfer (RFC 5321 §4.5.3.2)"),
        new(SettingKeys.AllowPrivateDestinations, "false", "allow loopback/private/link-local MX and policy hosts (tests and local runs only)"),
        new(SettingKeys.MaxParallelDomains, "4", "recipient domains of one message delivered at the same time"),
        new(SettingKeys.DnsServers, "", "comma-separated resolvers ip[:port]; empty = the system's"),
        new(SettingKeys.DnsTimeout, "5s", "timeout of one DNS query"),
        new(SettingKeys.DnsTrustedValidators, "", "comma-separated resolvers ip[:port] whose DNSSEC AD flag is believed (validating, reached over a trusted path such as loopback); empty = none, so DANE is unavailable"),
        new(SettingKeys.DnsDnssec, "resolver", "who validates DNSSEC: resolver (believe the AD flag of Dns:TrustedValidators) | in-process (validate here; Dns:Servers must pass RRSIG/DNSKEY/DS through)"),
        new(SettingKeys.DnsTrustAnchors, "", "in-process validation: file of root DS records ('. IN DS tag alg type hex' per line); empty = built-in KSK-2017 and KSK-2024"),
        new(SettingKeys.DnsDnssecProbeName, ".", "a DNSSEC-signed name the start-up probe and `dane check` ask about to see whether the resolver validates"),
        new($"{SettingKeys.TlsRules}:<domain>:<StartTls|AllowInvalidCerts|Dane|MtaSts>", "", "per destination domain (or *.domain) override of any TLS key"),
    ];
}
