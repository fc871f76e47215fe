// The app's storage account: the Functions host (leases, queue trigger, deployment package) and
// MtaFunctions' own queues, tables and blob containers. Shared keys are off: every client signs in
// with Entra ID (the app's managed identity, rbac.bicep).
param name string
param location string
param tags object

@description('Blob container Flex Consumption deploys the app package to.')
param deploymentContainerName string

@description('Blob container holding the raw inbound TLS reports (kept for audit).')
param rawReportsContainerName string

// Names the code uses (MtaFunctions.Client/Contract/StorageNames.cs and DESIGN.md's tables).
var queueNames = [
  'outbound'
  'outbound-poison'
]
var tableNames = [
  'Deliveries'
  'StsPolicies'
  'TlsResults'
  'SentTlsReports'
  'ReceivedTlsReports'
  'DestinationLimits'
  'InFlight'
]
var containerNames = [
  'outbound-messages'
  deploymentContainerName
  rawReportsContainerName
]

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: 'Enabled'
    // Reached over its public endpoint by Entra ID only (the VNet option is for a static egress IP,
    // not for private storage; add private endpoints if policy demands them).
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = [
  for container in containerNames: {
    parent: blobService
    name: container
    properties: { publicAccess: 'None' }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' = [
  for queue in queueNames: {
    parent: queueService
    name: queue
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2024-01-01' = [
  for table in tableNames: {
    parent: tableService
    name: table
  }
]

output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
