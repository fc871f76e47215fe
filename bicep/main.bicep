// MtaFunctions on Azure: a resource group with a Flex Consumption Function App, its storage
// account (queues, tables, blobs; shared keys off), a user-assigned managed identity with the data
// roles it needs, Application Insights + Log Analytics, a Key Vault holding the DKIM private keys,
// and optionally a VNet + NAT gateway giving all outbound mail one static IP.
// Deploy with `azd up` (azure.yaml) or infra/deploy.sh; README "Deploy" explains every parameter.
targetScope = 'subscription'

import { destinationLimit, dkimSignature, mtaAppSettings, route, tlsRule } from 'app/settings.bicep'

@minLength(1)
@maxLength(64)
@description('Environment name (azd AZURE_ENV_NAME): names the resource group and seeds the resource token.')
param environmentName string

@minLength(1)
@description('Region of every resource; it must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
@metadata({ azd: { type: 'location' } })
param location string

// ---- Names: each is derived from abbreviations.json + resourceToken unless given. ----
param resourceGroupName string = ''
param functionAppName string = ''
param appServicePlanName string = ''
param storageAccountName string = ''
param identityName string = ''
param applicationInsightsName string = ''
param logAnalyticsName string = ''
param keyVaultName string = ''
param vnetName string = ''
param natGatewayName string = ''
param publicIpName string = ''

@description('Blob container for the raw inbound TLS reports (kept for audit).')
param rawReportsContainerName string = 'tlsrpt-received'

// ---- Who deploys ----
@description('Principal id of the deploying user (azd AZURE_PRINCIPAL_ID): gets Key Vault Secrets Officer (to store the DKIM keys) and storage data roles (operator CLI). Empty grants nothing.')
param principalId string = ''

@allowed(['User', 'ServicePrincipal', 'Group'])
param principalType string = 'User'

// ---- Hosting ----
@description('.NET isolated worker version. If Flex Consumption refuses 10.0 in your region, deploy with 9.0 or 8.0 and retarget functions/MtaFunctions (README "Deploy").')
param runtimeVersion string = '10.0'

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Purge protection on the Key Vault (cannot be undone; blocks re-using the vault name for 90 days after deletion).')
param keyVaultPurgeProtection bool = false

// ---- Outbound network ----
@description('VNet integration + NAT gateway: all outbound traffic leaves from one static public IP (for SPF and reverse DNS).')
param vnetEnabled bool = false

@description('PTR name of the egress IP (usually mtaHostname). Azure accepts it only once that name resolves to the IP, so set it on a second deployment.')
param egressReverseFqdn string = ''

// ---- Mail identity ----
@description('The domain mail and TLS reports are sent from: report From, DKIM d=, SPF and _smtp._tls records. Empty leaves the derived defaults below empty.')
param mailDomain string = ''

@description('EHLO host name and DSN Reporting-MTA (Queue:Outbound:Hostname); it should match the egress IP\'s PTR record.')
param mtaHostname string = empty(mailDomain) ? '' : 'mta.${mailDomain}'

// ---- Transport security (Stalwart queue.outbound.tls.*); the defaults are the safe ones. ----
@description('Queue:Outbound:Tls:StartTls')
@allowed(['optional', 'require', 'disable'])
param startTls string = 'optional'

@description('Queue:Outbound:Tls:AllowInvalidCerts (never relaxes DANE or an enforced MTA-STS policy).')
param allowInvalidCerts bool = false

@description('Queue:Outbound:Tls:Dane')
@allowed(['optional', 'require', 'disable'])
param dane string = 'optional'

@description('Queue:Outbound:Tls:MtaSts')
@allowed(['optional', 'require', 'disable'])
param mtaSts string = 'optional'

@description('Dns:Servers: DNSSEC-validating resolvers (ip[:port], comma-separated). DANE needs validated answers, and Azure\'s own resolver (168.63.129.16) does not validate.')
param dnsServers string = '9.9.9.9,1.1.1.1'

@description('Dns:Dnssec: who validates DNSSEC for DANE. in-process = the app validates from the root anchors (the resolvers above only pass RRSIG/DNSKEY/DS through; nothing on the path is trusted); resolver = believe the AD flag of Dns:TrustedValidators.')
@allowed(['in-process', 'resolver'])
param dnssecMode string = 'in-process'

@description('Dns:TrustedValidators: resolvers whose AD flag is believed when dnssecMode is resolver (only over a trusted path, e.g. a validating resolver inside your VNet).')
param trustedValidators string = ''

// ---- TLS reports (Stalwart report.tls.aggregate.*, report.submitter) ----
@description('Report:Tls:Aggregate:Send. Default daily with a mail domain (it gives the DKIM signatures reports need), never without one.')
@allowed(['hourly', 'daily', 'weekly', 'never'])
param reportSend string = empty(mailDomain) ? 'never' : 'daily'

param reportFromName string = 'TLS Report'
param reportFromAddress string = empty(mailDomain) ? '' : 'tls-reports@${mailDomain}'
param reportOrgName string = mailDomain
param reportContactInfo string = empty(mailDomain) ? '' : 'postmaster@${mailDomain}'

@description('Report:Tls:Aggregate:MaxSize in bytes; larger reports are not sent.')
@minValue(1)
param reportMaxSize int = 26214400

@description('Report:Submitter: must be the domain of reportContactInfo (RFC 8460 §5.3), so it defaults to the mail domain; empty = the EHLO host name.')
param reportSubmitter string = mailDomain

@description('DKIM signatures of the report mail (Report:Tls:Aggregate:Sign); infra/deploy.sh creates each key in Key Vault and prints its DNS record.')
param dkimSignatures dkimSignature[] = empty(mailDomain)
  ? []
  : [
      {
        name: 'rsa'
        domain: mailDomain
        selector: 'mta-rsa'
        algorithm: 'rsa-sha256'
        secretName: 'dkim-rsa'
      }
      {
        name: 'ed25519'
        domain: mailDomain
        selector: 'mta-ed25519'
        algorithm: 'ed25519-sha256'
        secretName: 'dkim-ed25519'
      }
    ]

@description('Per-domain TLS rules (Queue:Outbound:Tls:Rules:<n>), e.g. [{ domain: \'bank.example\', dane: \'require\' }].')
param tlsRules tlsRule[] = []

@description('The relay (Queue:Outbound:Relay), e.g. { host: \'smtp.provider.example:465\', implicitTls: true, username: \'apikey\', passwordSecretName: \'relay-password\' }; {} = deliver to MX hosts.')
param relay route = {}

@description('Per-domain routes (Queue:Outbound:Routes:<n>), e.g. [{ domain: \'partner.example\', host: \'mx.partner.example:2525\' }].')
param routes route[] = []

@description('Per-destination limits across all instances (Queue:Outbound:Limits:Rules:<n>), e.g. [{ domain: \'*.google.com\', maxConnections: 10 }].')
param limitRules destinationLimit[] = []

@description('Further app settings, applied last: any key to override.')
param appSettingOverrides object = {}

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var appName = !empty(functionAppName) ? functionAppName : '${abbrs.webSitesFunctions}mta-${resourceToken}'
var deploymentContainerName = 'app-package-${take(toLower(appName), 32)}-${take(uniqueString(appName, resourceToken), 7)}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: !empty(identityName) ? identityName : '${abbrs.managedIdentityUserAssignedIdentities}mta-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: !empty(logAnalyticsName) ? logAnalyticsName : '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: !empty(applicationInsightsName) ? applicationInsightsName : '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: !empty(storageAccountName) ? storageAccountName : '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    rawReportsContainerName: rawReportsContainerName
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: !empty(keyVaultName) ? keyVaultName : '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    purgeProtection: keyVaultPurgeProtection
  }
}

module network 'app/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    vnetName: !empty(vnetName) ? vnetName : '${abbrs.networkVirtualNetworks}${resourceToken}'
    natGatewayName: !empty(natGatewayName) ? natGatewayName : '${abbrs.networkNatGateways}${resourceToken}'
    publicIpName: !empty(publicIpName) ? publicIpName : '${abbrs.networkPublicIPAddresses}mta-${resourceToken}'
    publicIpDomainNameLabel: 'mta-${resourceToken}'
    reverseFqdn: egressReverseFqdn
    location: location
    tags: tags
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appPrincipalId: identity.outputs.principalId
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

var appSettings = union(
  mtaAppSettings({
    startTls: startTls
    allowInvalidCerts: allowInvalidCerts
    dane: dane
    mtaSts: mtaSts
    hostname: mtaHostname
    egressIps: vnetEnabled ? network!.outputs.egressIp : ''
    dnsServers: dnsServers
    dnssecMode: dnssecMode
    trustedValidators: trustedValidators
    reportSend: reportSend
    reportFromName: reportFromName
    reportFromAddress: reportFromAddress
    reportOrgName: reportOrgName
    reportContactInfo: reportContactInfo
    reportMaxSize: reportMaxSize
    reportSubmitter: reportSubmitter
    inboundReportDomains: mailDomain
    keyVaultUri: keyVault.outputs.uri
    dkimSignatures: dkimSignatures
    tlsRules: tlsRules
    relay: relay
    routes: routes
    limitRules: limitRules
  }),
  appSettingOverrides
)

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: appName
    planName: !empty(appServicePlanName) ? appServicePlanName : '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    runtimeVersion: runtimeVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSubnetId: vnetEnabled ? network!.outputs.appSubnetId : ''
    appSettings: appSettings
  }
  // Role grants first, so the host can reach storage and Key Vault when it starts.
  dependsOn: [rbac]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
// For the `mta` tool with Entra ID (the account is keyless; the deployer has the data roles, rbac.bicep).
output AZURE_STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
// The app writes it as its APPLICATIONINSIGHTS_CONNECTION_STRING setting (api.bicep), which the telemetry
// exporter reads; ingestion needs Entra ID (local auth off), so it is no secret.
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.applicationInsightsConnectionString
output FUNCTION_APP_HOSTNAME string = api.outputs.defaultHostName
output TLSRPT_ENDPOINT string = 'https://${api.outputs.defaultHostName}/api/tlsrpt'
output EGRESS_IP string = vnetEnabled ? network!.outputs.egressIp : ''
output EGRESS_IP_NAME string = vnetEnabled ? network!.outputs.egressIpName : ''
output EGRESS_IP_FQDN string = vnetEnabled ? network!.outputs.egressIpFqdn : ''
output MAIL_DOMAIN string = mailDomain
output MTA_HOSTNAME string = mtaHostname
output DKIM_SIGNATURES array = dkimSignatures
@description('The DKIM signatures for the key step of infra/common.sh (deploy.sh, azd postprovision hook): "name,domain,selector,algorithm,secretName" separated by spaces.')
output DKIM_KEYS string = join(map(dkimSignatures, s => '${s.name},${s.domain},${s.selector},${s.algorithm},${s.secretName}'), ' ')
