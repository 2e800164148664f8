// The Container Apps environment's virtual network: Container Apps takes TCP ingress (the
// live ingest's RTMPS) only in an environment with a network of its own. One subnet,
// delegated to the environment; its security group admits RTMPS from the internet and
// keeps Azure's default rules for everything else.
param name string
param securityGroupName string
param location string
param tags object
param workspaceId string

@description('The RTMPS port encoders connect to')
param ingestPort int

var addressSpace = '10.40.0.0/16'
var appsSubnet = '10.40.0.0/23'

resource securityGroup 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: securityGroupName
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'rtmps-from-encoders'
        properties: {
          priority: 100
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: 'Internet'
          sourcePortRange: '*'
          destinationAddressPrefix: appsSubnet
          destinationPortRange: string(ingestPort)
        }
      }
    ]
  }
}

resource network 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressSpace
      ]
    }
    subnets: [
      {
        name: 'apps'
        properties: {
          addressPrefix: appsSubnet
          networkSecurityGroup: {
            id: securityGroup.id
          }
          delegations: [
            {
              name: 'container-apps'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
    ]
  }
}

// Rule events and counters name rules and subnets, no addresses.
resource groupDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: securityGroup
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

resource networkDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: network
  properties: {
    workspaceId: workspaceId
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output appsSubnetId string = '${network.id}/subnets/apps'
