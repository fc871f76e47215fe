// Every MtaFunctions setting the code reads (functions/MtaFunctions.Core/Configuration/SettingsCatalog.cs),
// as Function App settings: one line per key, `Section__Key` for `Section:Key`. Values the operator
// chooses come from main.bicep parameters; the rest are the catalog's defaults, written out so the
// deployed configuration is visible in the portal. Adding a setting = adding its line here
// (tests/MtaFunctions.Tests/Infra/SettingsDriftTests checks that none is missing).

@export()
@description('One DKIM signature: Report:Tls:Aggregate:Sign lists it by name; the private key (PEM) is a Key Vault secret.')
type dkimSignature = {
  @description('Name of the signature (listed in Report:Tls:Aggregate:Sign), e.g. rsa.')
  name: string

  @description('Signing domain (d=).')
  domain: string

  @description('Selector (s=); the public key is published at <selector>._domainkey.<domain>.')
  selector: string

  @description('Signature algorithm (a=).')
  algorithm: ('rsa-sha256' | 'ed25519-sha256')

  @description('Key Vault secret holding the PEM private key (infra/deploy.sh creates it).')
  secretName: string
}

@export()
@description('One per-domain TLS rule (Queue:Outbound:Tls:Rules:<n>); keys left out keep the global value.')
type tlsRule = {
  @description('Destination domain, or *.domain for its subdomains.')
  domain: string
  startTls: ('optional' | 'require' | 'disable')?
  allowInvalidCerts: bool?
  dane: ('optional' | 'require' | 'disable')?
  mtaSts: ('optional' | 'require' | 'disable')?
}

@export()
@description('A next hop instead of the MX lookup: the relay (Queue:Outbound:Relay) or a per-domain route (Queue:Outbound:Routes:<n>).')
type route = {
  @description('Per-domain routes only: the recipient domain or *.domain.')
  domain: string?
  @description('host[:port] of the next hop (no MX lookup); or set mx instead.')
  host: string?
  @description('A domain whose MX hosts are the next hop (its DANE / MTA-STS apply).')
  mx: string?
  implicitTls: bool?
  startTls: ('require' | 'optional' | 'disable')?
  allowInvalidCerts: bool?
  @description('SMTP AUTH user; the password is the Key Vault secret passwordSecretName.')
  username: string?
  passwordSecretName: string?
  maxConnections: int?
  messagesPerMinute: int?
}

@export()
@description('Fleet-wide limits of one destination (Queue:Outbound:Limits:Rules:<n>).')
type destinationLimit = {
  @description('MX host name, recipient domain or *.domain.')
  domain: string
  maxConnections: int?
  messagesPerMinute: int?
}

@export()
@description('The values main.bicep hands to mtaAppSettings.')
type mtaSettingsInput = {
  startTls: ('optional' | 'require' | 'disable')
  allowInvalidCerts: bool
  dane: ('optional' | 'require' | 'disable')
  mtaSts: ('optional' | 'require' | 'disable')
  hostname: string
  @description('Public egress address(es) of outbound mail (the NAT gateway\'s static IP; empty without one): TLS reports name it as sending-mta-ip.')
  egressIps: string
  dnsServers: string
  dnssecMode: ('in-process' | 'resolver')
  trustedValidators: string
  reportSend: ('hourly' | 'daily' | 'weekly' | 'never')
  reportFromName: string
  reportFromAddress: string
  reportOrgName: string
  reportContactInfo: string
  reportMaxSize: int
  reportSubmitter: string
  @description('Our domains whose TLS reports the receiving endpoint accepts (comma-separated).')
  inboundReportDomains: string
  keyVaultUri: string
  dkimSignatures: dkimSignature[]
  tlsRules: tlsRule[]
  @description('The relay; {} = deliver to MX hosts.')
  relay: route
  routes: route[]
  limitRules: destinationLimit[]
}

@export()
@description('The Function App settings of MtaFunctions (without the host\'s AzureWebJobsStorage__* and telemetry settings, which api.bicep adds).')
func mtaAppSettings(i mtaSettingsInput) object =>
  union(
    {
      // Queue:Outbound:Tls (Stalwart queue.outbound.tls.*)
      Queue__Outbound__Tls__StartTls: i.startTls
      Queue__Outbound__Tls__AllowInvalidCerts: i.allowInvalidCerts ? 'true' : 'false'
      Queue__Outbound__Tls__Dane: i.dane
      Queue__Outbound__Tls__MtaSts: i.mtaSts
      Queue__Outbound__Tls__ExtraRootCas: ''
      // Queue:Outbound (delivery)
      Queue__Outbound__Hostname: i.hostname
      // TLS-RPT sending-mta-ip: the NAT gateway's public IP when the VNet is on (main.bicep), else empty.
      Queue__Outbound__EgressIps: i.egressIps
      Queue__Outbound__Retry__Schedule: '2m,5m,10m,20m,30m,1h,2h,4h,8h'
      Queue__Outbound__Retry__Lifetime: '5d'
      Queue__Outbound__Deliveries__Retention: '30d'
      Queue__Outbound__Smtp__Port: '25'
      Queue__Outbound__Timeout__Connect: '30s'
      Queue__Outbound__Timeout__Command: '5m'
      Queue__Outbound__Timeout__MtaSts: '1m'
      Queue__Outbound__MtaSts__Port: '443'
      Queue__Outbound__AllowPrivateDestinations: 'false'
      Queue__Outbound__MaxParallelDomains: '4'
      Queue__Outbound__Smtp__MaxMessagesPerConnection: '100'
      Queue__Outbound__Smtp__ConnectionIdleTime: '10s'
      Queue__Outbound__Smtp__MaxRecipientsPerTransaction: '50'
      Queue__Outbound__MaxMessageSize: '26214400'
      // Queue:Outbound:Relay (Postfix relayhost); the AUTH password is a Key Vault reference.
      Queue__Outbound__Relay__Host: i.relay.?host ?? ''
      Queue__Outbound__Relay__Mx: i.relay.?mx ?? ''
      Queue__Outbound__Relay__ImplicitTls: (i.relay.?implicitTls ?? false) ? 'true' : 'false'
      Queue__Outbound__Relay__StartTls: i.relay.?startTls ?? 'require'
      Queue__Outbound__Relay__AllowInvalidCerts: (i.relay.?allowInvalidCerts ?? false) ? 'true' : 'false'
      Queue__Outbound__Relay__Username: i.relay.?username ?? ''
      Queue__Outbound__Relay__Password: empty(i.relay.?passwordSecretName ?? '') ? '' : '@Microsoft.KeyVault(SecretUri=${i.keyVaultUri}secrets/${i.relay.?passwordSecretName ?? ''}/)'
      Queue__Outbound__Relay__MaxConnections: string(i.relay.?maxConnections ?? '')
      Queue__Outbound__Relay__MessagesPerMinute: string(i.relay.?messagesPerMinute ?? '')
      // Queue:Outbound:Limits: per destination, across all instances (Azure Storage table DestinationLimits)
      Queue__Outbound__Limits__MaxConnections: '20'
      Queue__Outbound__Limits__MessagesPerMinute: '0'
      Queue__Outbound__Limits__MaxWait: '1m'
      Queue__Outbound__Limits__BusyRecovery: '1m'
      // Dns: a DNSSEC-validating resolver, so DANE can trust the AD flag (Azure's resolver does not validate).
      Dns__Servers: i.dnsServers
      Dns__Timeout: '5s'
      Dns__CacheMaxTtl: '5m'
      Dns__Dnssec: i.dnssecMode
      Dns__TrustedValidators: i.trustedValidators
      Dns__TrustAnchors: ''
      Dns__DnssecProbeName: '.'
      // Report (Stalwart report.submitter, report.tls.aggregate.*)
      Report__Submitter: i.reportSubmitter
      Report__Tls__Aggregate__FromName: i.reportFromName
      Report__Tls__Aggregate__FromAddress: i.reportFromAddress
      Report__Tls__Aggregate__OrgName: i.reportOrgName
      Report__Tls__Aggregate__ContactInfo: i.reportContactInfo
      Report__Tls__Aggregate__Send: i.reportSend
      Report__Tls__Aggregate__MaxSize: string(i.reportMaxSize)
      Report__Tls__Aggregate__Sign: join(map(i.dkimSignatures, s => s.name), ',')
      // Report:Tls:Inbound (reports other senders post to /api/tlsrpt about our domains)
      Report__Tls__Inbound__Domains: i.inboundReportDomains
      Report__Tls__Inbound__Key: ''
      Report__Tls__Inbound__MaxBodySize: '5242880'
      Report__Tls__Inbound__MaxReportSize: '20971520'
      Report__Tls__Inbound__MaxMessageSize: '10485760'
      Report__Tls__Inbound__FailureRateWarning: '10'
      Report__Tls__Inbound__DecodeMemory: '268435456'
    },
    // Report:Dkim:<name> (Stalwart signature.<id>.*): the private key is a Key Vault reference.
    reduce(
      i.dkimSignatures,
      {},
      (all, s) =>
        union(all, {
          'Report__Dkim__${s.name}__Domain': s.domain
          'Report__Dkim__${s.name}__Selector': s.selector
          'Report__Dkim__${s.name}__Algorithm': s.algorithm
          'Report__Dkim__${s.name}__PrivateKey': '@Microsoft.KeyVault(SecretUri=${i.keyVaultUri}secrets/${s.secretName}/)'
        })
    ),
    // Queue:Outbound:Tls:Rules:<n>: an indexed list, because app-setting names cannot hold a domain ('.', '-', '*').
    reduce(
      range(0, length(i.tlsRules)),
      {},
      (all, n) =>
        union(all, {
          'Queue__Outbound__Tls__Rules__${n}__Domain': i.tlsRules[n].domain
          'Queue__Outbound__Tls__Rules__${n}__StartTls': i.tlsRules[n].?startTls ?? ''
          'Queue__Outbound__Tls__Rules__${n}__AllowInvalidCerts': i.tlsRules[n].?allowInvalidCerts == null ? '' : (i.tlsRules[n].allowInvalidCerts! ? 'true' : 'false')
          'Queue__Outbound__Tls__Rules__${n}__Dane': i.tlsRules[n].?dane ?? ''
          'Queue__Outbound__Tls__Rules__${n}__MtaSts': i.tlsRules[n].?mtaSts ?? ''
        })
    ),
    // Queue:Outbound:Routes:<n>: per-domain next hops, same keys as the relay.
    reduce(
      range(0, length(i.routes)),
      {},
      (all, n) =>
        union(all, {
          'Queue__Outbound__Routes__${n}__Domain': i.routes[n].?domain ?? ''
          'Queue__Outbound__Routes__${n}__Host': i.routes[n].?host ?? ''
          'Queue__Outbound__Routes__${n}__Mx': i.routes[n].?mx ?? ''
          'Queue__Outbound__Routes__${n}__ImplicitTls': (i.routes[n].?implicitTls ?? false) ? 'true' : 'false'
          'Queue__Outbound__Routes__${n}__StartTls': i.routes[n].?startTls ?? 'require'
          'Queue__Outbound__Routes__${n}__AllowInvalidCerts': (i.routes[n].?allowInvalidCerts ?? false) ? 'true' : 'false'
          'Queue__Outbound__Routes__${n}__Username': i.routes[n].?username ?? ''
          'Queue__Outbound__Routes__${n}__Password': empty(i.routes[n].?passwordSecretName ?? '') ? '' : '@Microsoft.KeyVault(SecretUri=${i.keyVaultUri}secrets/${i.routes[n].?passwordSecretName ?? ''}/)'
          'Queue__Outbound__Routes__${n}__MaxConnections': string(i.routes[n].?maxConnections ?? '')
          'Queue__Outbound__Routes__${n}__MessagesPerMinute': string(i.routes[n].?messagesPerMinute ?? '')
        })
    ),
    // Queue:Outbound:Limits:Rules:<n>: per-destination limits.
    reduce(
      range(0, length(i.limitRules)),
      {},
      (all, n) =>
        union(all, {
          'Queue__Outbound__Limits__Rules__${n}__Domain': i.limitRules[n].domain
          'Queue__Outbound__Limits__Rules__${n}__MaxConnections': string(i.limitRules[n].?maxConnections ?? '')
          'Queue__Outbound__Limits__Rules__${n}__MessagesPerMinute': string(i.limitRules[n].?messagesPerMinute ?? '')
        })
    )
  )
