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
        new(SettingKeys.MaxMessagesPerConnection, "100", "messages sent over one SMTP connection before it is closed; 1 turns connection reuse off"),
        new(SettingKeys.ConnectionIdleTime, "10s", "how long an idle SMTP connection is kept open for the next message to the same MX"),
        new(SettingKeys.EgressIps, "", "comma-separated public addresses mail leaves from (behind NAT), reported as TLS-RPT sending-mta-ip; empty = the socket's local address"),
        new(SettingKeys.DnsServers, "", "comma-separated resolvers ip[:port]; empty = the system's"),
        new(SettingKeys.DnsTimeout, "5s", "timeout of one DNS query"),
        new(SettingKeys.MtaStsTimeout, "1m", "timeout of one MTA-STS policy fetch, connect to last byte (RFC 8461 §3.3)"),
        new(SettingKeys.MtaStsPort, "443", "TCP port of MTA-STS policy hosts (443; other values only for tests)"),
        new(SettingKeys.DnsTrustedValidators, "", "comma-separated resolvers ip[:port] whose DNSSEC AD flag is believed (validating, reached over a trusted path such as loopback); empty = none, so DANE is unavailable"),
        new(SettingKeys.DnsDnssec, "resolver", "who validates DNSSEC: resolver (believe the AD flag of Dns:TrustedValidators) | in-process (validate here; Dns:Servers must pass RRSIG/DNSKEY/DS through)"),
        new(SettingKeys.DnsTrustAnchors, "", "in-process validation: file of root DS records ('. IN DS tag alg type hex' per line); empty = built-in KSK-2017 and KSK-2024"),
        new(SettingKeys.DnsDnssecProbeName, ".", "a DNSSEC-signed name the start-up probe and `dane check` ask about to see whether the resolver validates"),
        new($"{SettingKeys.TlsRules}:<n>:Domain", "", "per destination domain rule (n = 0, 1, ...): the domain or *.domain it applies to"),
        new($"{SettingKeys.TlsRules}:<n>:StartTls", "", "the rule's StartTls (default: Queue:Outbound:Tls:StartTls)"),
        new($"{SettingKeys.TlsRules}:<n>:AllowInvalidCerts", "", "the rule's AllowInvalidCerts (default: Queue:Outbound:Tls:AllowInvalidCerts)"),
        new($"{SettingKeys.TlsRules}:<n>:Dane", "", "the rule's Dane (default: Queue:Outbound:Tls:Dane)"),
        new($"{SettingKeys.TlsRules}:<n>:MtaSts", "", "the rule's MtaSts (default: Queue:Outbound:Tls:MtaSts)"),
        new(SettingKeys.TlsRptInboundDomains, "", "comma-separated domains (and their subdomains) whose TLS reports POST /api/tlsrpt accepts; empty refuses every report"),
        new(SettingKeys.TlsRptInboundKey, "", "when set, POST /api/tlsrpt needs ?key=<this value> in its URL (publish it in the rua); empty = anonymous"),
        new(SettingKeys.TlsRptInboundMaxBodySize, "5242880", "largest TLS report request body in bytes (compressed size); larger ones get 413"),
        new(SettingKeys.TlsRptInboundMaxReportSize, "20971520", "largest decompressed TLS report in bytes; decompression stops there with 413 (gzip bombs)"),
        new(SettingKeys.TlsRptInboundMaxMessageSize, "10485760", "largest mailed TLS report message (RFC 5322, whole) in bytes"),
        new(SettingKeys.TlsRptInboundFailureRateWarning, "10", "percent of failed sessions in a UTC day above which a domain gets a warning (log + metric)"),
        new(SettingKeys.TlsRptInboundDecodeMemory, "268435456", "bytes all TLS reports being decompressed, read and stored at once may use together (about 3 per byte of JSON); others wait their turn"),
        new(SettingKeys.LocalHostHttpPort, "7071", "LocalHost only: loopback port of its HTTP routes (the Function App's /api/tlsrpt...); 0 = any free port"),
        new(SettingKeys.ReportSubmitter, "", "TLS-Report-Submitter of outgoing TLS reports; must equal the domain of ContactInfo (default: Queue:Outbound:Hostname)"),
        new(SettingKeys.TlsReportFromName, "Report Subsystem", "display name in the From header of mailed TLS reports"),
        new(SettingKeys.TlsReportFromAddress, "", "address in the From header of mailed TLS reports (default: noreply-tls@<Report:Submitter>)"),
        new(SettingKeys.TlsReportOrgName, "", "organization-name of outgoing TLS reports (default: Report:Submitter)"),
        new(SettingKeys.TlsReportContactInfo, "", "contact-info of outgoing TLS reports, an address or URI in the submitter's domain (default: FromAddress)"),
        new(SettingKeys.TlsReportSend, "never", "TLS report period: hourly | daily | weekly | never (never records and sends nothing)"),
        new(SettingKeys.TlsReportMaxSize, "26214400", "largest gzip'd TLS report sent, in bytes; larger ones are logged and not sent"),
        new(SettingKeys.TlsReportSign, "", "comma-separated DKIM signature names (Report:Dkim:<name>) signing mailed TLS reports; required unless Send = never"),
        new($"{SettingKeys.DkimSignatures}:<name>:<field>", "", "a DKIM signature, <field> one of Domain, Selector, Algorithm, PrivateKey, PrivateKeyFile: d= domain, selector, rsa-sha256 | ed25519-sha256 (default rsa-sha256), PEM key text (Key Vault reference in Azure) or PEM file"),
    ];
}
