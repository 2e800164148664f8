// The Container Apps environment (in its own network) and its jobs: the media worker as an event-driven job
// (KEDA's azure-queue scaler starts one `--once` execution per message on `transcode`) with
// the worker's own identity for the scaler and the registry (it holds no secret); and the daily export
// of the documents into the separate backup account (P32), with an identity of its own.
param environmentName string
param jobName string
param location string
param tags object
param workspaceId string
param identityId string
param identityClientId string
param registryServer string
param storageAccountName string
param cosmosEndpoint string
param exportJobName string
param exportIdentityId string
param exportIdentityClientId string
param backupAccountUrl string

@description('The delegated subnet: Container Apps takes TCP ingress (the live ingest) only with one')
param subnetId string

@description('The worker image; a placeholder runs until `az acr build` has pushed the real one')
param workerImage string

// The ladder encode's own limit is max(3,600 s, 30 x duration); the job's is the setting's
// media_transcode_timeout_seconds (6 h) with ten minutes to spare.
var replicaTimeout = 22200
var catalogue = loadJsonContent('../catalogue.json')

resource environment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: environmentName
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    vnetConfiguration: {
      infrastructureSubnetId: subnetId
      internal: false
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: environment
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

resource transcode 'Microsoft.App/jobs@2025-01-01' = {
  name: jobName
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      triggerType: 'Event'
      replicaTimeout: replicaTimeout
      replicaRetryLimit: 0
      eventTriggerConfig: {
        parallelism: 1
        replicaCompletionCount: 1
        scale: {
          minExecutions: 0
          maxExecutions: 20
          pollingInterval: 10
          rules: [
            {
              name: 'transcode-queue'
              type: 'azure-queue'
              identity: identityId
              metadata: {
                accountName: storageAccountName
                queueName: catalogue.transcodeQueue
                queueLength: '1'
              }
            }
          ]
        }
      }
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'media-worker'
          image: workerImage
          args: [
            '--once'
          ]
          resources: {
            cpu: json('4')
            memory: '8Gi'
          }
          env: [
            {
              name: 'AZURE_CLIENT_ID'
              value: identityClientId
            }
            {
              name: 'WEBCAST_ENVIRONMENT'
              value: 'azure'
            }
            {
              name: 'WEBCAST_PROCESS'
              value: 'media_worker'
            }
            {
              name: 'WEBCAST_STORAGE_ACCOUNT_NAME'
              value: storageAccountName
            }
            {
              name: 'WEBCAST_COSMOS_ENDPOINT'
              value: cosmosEndpoint
            }
            {
              name: 'WEBCAST_MALWARE_GATE'
              value: 'defender'
            }
          ]
        }
      ]
    }
  }
}

resource export 'Microsoft.App/jobs@2025-01-01' = {
  name: exportJobName
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${exportIdentityId}': {}
    }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      triggerType: 'Schedule'
      replicaTimeout: 14400
      replicaRetryLimit: 1
      scheduleTriggerConfig: {
        cronExpression: '30 2 * * *'
        parallelism: 1
        replicaCompletionCount: 1
      }
      registries: [
        {
          server: registryServer
          identity: exportIdentityId
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'store-export'
          image: workerImage
          command: [
            'python'
            '-m'
            'shared.cli'
            'export-stores'
          ]
          resources: {
            cpu: json('1')
            memory: '2Gi'
          }
          env: [
            {
              name: 'AZURE_CLIENT_ID'
              value: exportIdentityClientId
            }
            {
              name: 'WEBCAST_ENVIRONMENT'
              value: 'azure'
            }
            {
              name: 'WEBCAST_PROCESS'
              value: 'store_export'
            }
            {
              name: 'WEBCAST_COSMOS_ENDPOINT'
              value: cosmosEndpoint
            }
            {
              name: 'WEBCAST_STORAGE_ACCOUNT_NAME'
              value: storageAccountName
            }
            {
              name: 'WEBCAST_BACKUP_ACCOUNT_URL'
              value: backupAccountUrl
            }
            {
              name: 'WEBCAST_MALWARE_GATE'
              value: 'defender'
            }
          ]
        }
      ]
    }
  }
}

output environmentName string = environment.name
output environmentId string = environment.id
output defaultDomain string = environment.properties.defaultDomain
output transcodeJobName string = transcode.name
