// Key Vault holding the DKIM private keys (secrets, PEM). The Function App reads them through
// @Microsoft.KeyVault(...) app-setting references with its managed identity (Key Vault Secrets User,
// rbac.bicep); infra/deploy.sh creates the keys. RBAC authorization only, no access policies.
param name string
param location string
param tags object

@description('Purge protection: a deleted vault or key cannot be purged for the retention period.')
param purgeProtection bool = false

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: purgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
