// Optional (main.bicep vnetEnabled): a VNet whose subnet the Function App integrates with, and a
// NAT gateway with one static public IP, so all outbound SMTP, DNS and HTTPS leaves from one address
// that SPF can name and that reverse DNS (PTR) can point back to.
param vnetName string
param natGatewayName string
param publicIpName string
param location string
param tags object

@description('DNS label of the egress IP (<label>.<region>.cloudapp.azure.com); needed for a PTR record.')
param publicIpDomainNameLabel string

@description('PTR (reverse DNS) name of the egress IP, e.g. the EHLO host name. Azure accepts it only when that name already resolves (A or CNAME) to this IP or its cloudapp name, so leave empty on the first deployment.')
param reverseFqdn string = ''

param addressPrefix string = '10.40.0.0/16'
param appSubnetPrefix string = '10.40.1.0/24'

resource publicIp 'Microsoft.Network/publicIPAddresses@2024-05-01' = {
  name: publicIpName
  location: location
  tags: tags
  sku: { name: 'Standard', tier: 'Regional' }
  properties: {
    publicIPAddressVersion: 'IPv4'
    publicIPAllocationMethod: 'Static'
    idleTimeoutInMinutes: 10
    dnsSettings: empty(reverseFqdn)
      ? { domainNameLabel: publicIpDomainNameLabel }
      : { domainNameLabel: publicIpDomainNameLabel, reverseFqdn: reverseFqdn }
  }
}

resource natGateway 'Microsoft.Network/natGateways@2024-05-01' = {
  name: natGatewayName
  location: location
  tags: tags
  sku: { name: 'Standard' }
  properties: {
    // SMTP sessions can idle for minutes between commands (RFC 5321 §4.5.3.2 timeouts).
    idleTimeoutInMinutes: 10
    publicIpAddresses: [{ id: publicIp.id }]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [addressPrefix] }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          natGateway: { id: natGateway.id }
          // Flex Consumption integrates with subnets delegated to Microsoft.App/environments.
          delegations: [
            {
              name: 'flex-consumption'
              properties: { serviceName: 'Microsoft.App/environments' }
            }
          ]
        }
      }
    ]
  }
}

output appSubnetId string = vnet.properties.subnets[0].id
output egressIp string = publicIp.properties.ipAddress
output egressIpName string = publicIp.name
output egressIpFqdn string = publicIp.properties.dnsSettings.fqdn
