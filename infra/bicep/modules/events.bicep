// Event Grid's topics: the storage account's system topic (its `BlobCreated` events) and the
// topic Defender for Storage publishes its scan results to, each with its own identity; and
// Defender for Storage itself. Their subscriptions come after the role assignments that let
// the topics' identities deliver (subscriptions.bicep).
param name string
param location string
param tags object
param storageAccountName string
param workspaceId string

var catalogue = loadJsonContent('../catalogue.json')

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobTopic 'Microsoft.EventGrid/systemTopics@2024-06-01-preview' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: account.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// Defender for Storage publishes each scan result to this topic (its own schema).
resource scanTopic 'Microsoft.EventGrid/topics@2024-06-01-preview' = {
  name: '${name}-scans'
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    // checkov:skip=CKV_AZURE_193: Defender for Storage publishes over the public endpoint
    inputSchema: 'EventGridSchema'
    publicNetworkAccess: 'Enabled'
    disableLocalAuth: true
    minimumTlsVersionAllowed: '1.2'
  }
}

// P38: Defender scans every upload before the malware gate lets anything read it, and only
// uploads: the containers that take none (renditions, live segments, exports) are excluded,
// so that they are neither scanned nor billed (a trailing slash names one container).
resource defender 'Microsoft.Security/defenderForStorageSettings@2025-06-01' = {
  name: 'current'
  scope: account
  properties: {
    isEnabled: true
    overrideSubscriptionLevelSettings: true
    malwareScanning: {
      onUpload: {
        isEnabled: true
        capGBPerMonth: 5000
        filters: {
          excludeBlobsWithPrefix: [for container in catalogue.unscannedContainers: '${container}/']
        }
      }
      scanResultsEventGridTopicResourceId: scanTopic.id
    }
    sensitiveDataDiscovery: {
      isEnabled: false
    }
  }
}

resource blobTopicDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: blobTopic
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'DeliveryFailures'
        enabled: true
      }
    ]
  }
}

resource scanTopicDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: scanTopic
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'DeliveryFailures'
        enabled: true
      }
      {
        category: 'PublishFailures'
        enabled: true
      }
    ]
  }
}

output blobTopicName string = blobTopic.name
output scanTopicName string = scanTopic.name
output blobTopicPrincipalId string = blobTopic.identity.principalId
output scanTopicPrincipalId string = scanTopic.identity.principalId
