// Event Grid: `BlobCreated` of every container whose uploads a consumer reads (catalogue.json,
// from shared/composition/blob_consumers.py) into the `blob-events` queue, and Defender for
// Storage's scan results into `malware-scans`, each delivered with the topic's own identity.
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

resource uploads 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2024-06-01-preview' = {
  parent: blobTopic
  name: 'blob-created'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: account.id
          queueName: catalogue.blobEventQueue
          queueMessageTimeToLiveInSeconds: 604800
        }
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      advancedFilters: [
        {
          operatorType: 'StringBeginsWith'
          key: 'subject'
          values: [for container in catalogue.blobEventContainers: '/blobServices/default/containers/${container}/blobs/']
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
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

resource scans 'Microsoft.EventGrid/topics/eventSubscriptions@2024-06-01-preview' = {
  parent: scanTopic
  name: 'scan-results'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: account.id
          queueName: catalogue.malwareScanQueue
          queueMessageTimeToLiveInSeconds: 604800
        }
      }
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
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

output blobTopicPrincipalId string = blobTopic.identity.principalId
output scanTopicPrincipalId string = scanTopic.identity.principalId
