// Event Grid's subscriptions, made once the topics' identities may send queue messages
// (rbac.bicep): `BlobCreated` of every container whose uploads a consumer reads
// (catalogue.json, from shared/composition/blob_consumers.py) into `blob-events`, and
// Defender's scan results into `malware-scans`, each delivered with the topic's identity.
param blobTopicName string
param scanTopicName string
param storageAccountName string

var catalogue = loadJsonContent('../catalogue.json')

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobTopic 'Microsoft.EventGrid/systemTopics@2024-06-01-preview' existing = {
  name: blobTopicName
}

resource scanTopic 'Microsoft.EventGrid/topics@2024-06-01-preview' existing = {
  name: scanTopicName
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
