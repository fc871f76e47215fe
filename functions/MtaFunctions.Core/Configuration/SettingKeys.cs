namespace MtaFunctions.Core.Configuration;

/// <summary>
/// Every setting key the code reads. Keys mirror Stalwart's (<c>queue.outbound.tls.dane</c> is
/// <c>Queue:Outbound:Tls:Dane</c>, app setting <c>Queue__Outbound__Tls__Dane</c>).
/// </summary>
public static class SettingKeys
{
    /// <summary>Prefix of per-destination-domain rules: <c>Queue:Outbound:Tls:Rules:&lt;domain&gt;:&lt;TlsKey&gt;</c>.</summary>
    public const string TlsRules = "Queue:Outbound:Tls:Rules";

    public const string StartTls = "Queue:Outbound:Tls:StartTls";
    public const string AllowInvalidCerts = "Queue:Outbound:Tls:AllowInvalidCerts";
    public const string Dane = "Queue:Outbound:Tls:Dane";
    public const string MtaSts = "Queue:Outbound:Tls:MtaSts";
    public const string ExtraRootCas = "Queue:Outbound:Tls:ExtraRootCas";
    public const string Hostname = "Queue:Outbound:Hostname";
    public const string RetrySchedule = "Queue:Outbound:Retry:Schedule";
    public const string MessageLifetime = "Queue:Outbound:Retry:Lifetime";
    public const string DeliveriesRetention = "Queue:Outbound:Deliveries:Retention";
    public const string SmtpPort = "Queue:Outbound:Smtp:Port";
    public const string ConnectTimeout = "Queue:Outbound:Timeout:Connect";
    public const string CommandTimeout = "Queue:Outbound:Timeout:Command";
    public const string AllowPrivateDestinations = "Queue:Outbound:AllowPrivateDestinations";
    public const string MaxParallelDomains = "Queue:Outbound:MaxParallelDomains";
    public const string MaxMessagesPerConnection = "Queue:Outbound:Smtp:MaxMessagesPerConnection";
    public const string ConnectionIdleTime = "Queue:Outbound:Smtp:ConnectionIdleTime";
    public const string MaxRecipientsPerTransaction = "Queue:Outbound:Smtp:MaxRecipientsPerTransaction";
    public const string MaxMessageSize = "Queue:Outbound:MaxMessageSize";

    /// <summary>Prefix of the global relay: <c>Queue:Outbound:Relay:&lt;Host|Mx|ImplicitTls|StartTls|...&gt;</c>.</summary>
    public const string Relay = "Queue:Outbound:Relay";

    /// <summary>Prefix of per-domain routes: <c>Queue:Outbound:Routes:&lt;n&gt;:&lt;Domain|Host|Mx|...&gt;</c>.</summary>
    public const string Routes = "Queue:Outbound:Routes";

    public const string LimitsMaxConnections = "Queue:Outbound:Limits:MaxConnections";
    public const string LimitsMessagesPerMinute = "Queue:Outbound:Limits:MessagesPerMinute";
    public const string LimitsMaxWait = "Queue:Outbound:Limits:MaxWait";
    public const string LimitsBusyRecovery = "Queue:Outbound:Limits:BusyRecovery";

    /// <summary>Prefix of per-destination limits: <c>Queue:Outbound:Limits:Rules:&lt;n&gt;:&lt;Domain|MaxConnections|MessagesPerMinute&gt;</c>.</summary>
    public const string LimitsRules = "Queue:Outbound:Limits:Rules";
    public const string EgressIps = "Queue:Outbound:EgressIps";
    public const string DnsServers = "Dns:Servers";
    public const string DnsTimeout = "Dns:Timeout";
    public const string DnsCacheMaxTtl = "Dns:CacheMaxTtl";
    public const string MtaStsTimeout = "Queue:Outbound:Timeout:MtaSts";
    public const string MtaStsPort = "Queue:Outbound:MtaSts:Port";
    public const string TlsRptInboundDomains = "Report:Tls:Inbound:Domains";
    public const string TlsRptInboundKey = "Report:Tls:Inbound:Key";
    public const string TlsRptInboundMaxBodySize = "Report:Tls:Inbound:MaxBodySize";
    public const string TlsRptInboundMaxReportSize = "Report:Tls:Inbound:MaxReportSize";
    public const string TlsRptInboundMaxMessageSize = "Report:Tls:Inbound:MaxMessageSize";
    public const string TlsRptInboundFailureRateWarning = "Report:Tls:Inbound:FailureRateWarning";
    public const string TlsRptInboundDecodeMemory = "Report:Tls:Inbound:DecodeMemory";
    public const string LocalHostHttpPort = "LocalHost:Http:Port";
    public const string DnsTrustedValidators = "Dns:TrustedValidators";
    public const string DnsDnssecProbeName = "Dns:DnssecProbeName";
    public const string DnsDnssec = "Dns:Dnssec";
    public const string DnsTrustAnchors = "Dns:TrustAnchors";
    public const string ReportSubmitter = "Report:Submitter";
    public const string TlsReportFromName = "Report:Tls:Aggregate:FromName";
    public const string TlsReportFromAddress = "Report:Tls:Aggregate:FromAddress";
    public const string TlsReportOrgName = "Report:Tls:Aggregate:OrgName";
    public const string TlsReportContactInfo = "Report:Tls:Aggregate:ContactInfo";
    public const string TlsReportSend = "Report:Tls:Aggregate:Send";
    public const string TlsReportMaxSize = "Report:Tls:Aggregate:MaxSize";
    public const string TlsReportSign = "Report:Tls:Aggregate:Sign";

    /// <summary>Prefix of DKIM signature definitions: <c>Report:Dkim:&lt;name&gt;:&lt;Domain|Selector|Algorithm|PrivateKey|PrivateKeyFile&gt;</c>.</summary>
    public const string DkimSignatures = "Report:Dkim";
}
