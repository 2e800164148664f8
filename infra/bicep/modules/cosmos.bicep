// Cosmos DB for NoSQL: local (key) auth off, continuous backup, zone-redundant in West
// Europe only, TLS 1.2; every container of the store catalogue with its partition key and
// default time to live, autoscaled up to its RU/s in `throughputByContainer`, else `maxThroughput`.
param name string
param location string
param tags object
param maxThroughput int
param throughputByContainer object
param workspaceId string

var catalogue = loadJsonContent('../catalogue.json')

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    // checkov:skip=CKV_AZURE_99: the function app has no fixed addresses; local auth is off and RBAC guards the data plane
    // checkov:skip=CKV_AZURE_101: the same: public network access, identity only
    databaseAccountOfferType: 'Standard'
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
    enableAutomaticFailover: false
    enableMultipleWriteLocations: false
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: true
      }
    ]
    backupPolicy: {
      type: 'Continuous'
      continuousModeProperties: {
        tier: 'Continuous7Days'
      }
    }
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: catalogue.cosmosDatabase
  properties: {
    resource: {
      id: catalogue.cosmosDatabase
    }
  }
}

resource containers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [for container in catalogue.cosmosContainers: {
  parent: database
  name: container.name
  properties: {
    resource: container.resource
    options: {
      autoscaleSettings: {
        maxThroughput: contains(throughputByContainer, container.name) ? throughputByContainer[container.name] : maxThroughput
      }
    }
  }
}]

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: account
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'Requests'
        enabled: true
      }
    ]
  }
}

output name string = account.name
output endpoint string = account.properties.documentEndpoint
