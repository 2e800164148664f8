// The data storage account: every blob container and queue of the store catalogue
// (catalogue.json, rendered from shared/stores.py), poison queues included. The queue
// triggers use the `AzureWebJobsStorage` connection, and the code's queues live in this same
// account, so the two are one. Zone-redundant in West Europe, never geo-replicated (P27).
param name string
param location string
param tags object
param workspaceId string

@description('The one origin browsers upload from and fetch segments from (Front Door), or empty')
param publicOrigin string = ''

var catalogue = loadJsonContent('../catalogue.json')

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_ZRS'
  }
  properties: {
    // checkov:skip=CKV_AZURE_35: browsers upload by SAS and fetch signed segments from the internet
    // checkov:skip=CKV_AZURE_59: the same: public network access with SAS and identity only
    // checkov:skip=CKV_AZURE_206: zone-redundant only: the paired region lies outside the Netherlands (P27)
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    isHnsEnabled: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: catalogue.softDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: catalogue.softDeleteDays
    }
    cors: {
      corsRules: empty(publicOrigin) ? [] : [
        {
          allowedOrigins: [
            publicOrigin
          ]
          allowedMethods: [
            'GET'
            'HEAD'
            'PUT'
          ]
          allowedHeaders: [
            'content-type'
            'x-ms-blob-type'
            'x-ms-blob-content-type'
            'x-ms-version'
            'range'
          ]
          exposedHeaders: [
            'content-length'
            'content-range'
            'etag'
          ]
          maxAgeInSeconds: 3600
        }
      ]
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for container in catalogue.blobContainers: {
  parent: blobs
  name: container
  properties: {
    publicAccess: 'None'
  }
}]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queue in catalogue.queues: {
  parent: queueService
  name: queue
}]

// Temporary files go after a day even when the timer that removes them did not run.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'temporary-files'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: catalogue.temporaryPrefixes
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: 1
                }
              }
            }
          }
        }
      ]
    }
  }
}

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: blobs
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
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: queueService
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
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
