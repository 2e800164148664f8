// The function app (API, queue, blob-event and timer triggers) on Flex Consumption: Python,
// the user-assigned identity for every connection (no keys), HTTPS only, TLS 1.2, FTP and
// remote debugging off, and reachable only through this deployment's Front Door: the
// `AzureFrontDoor.Backend` service tag with its `X-Azure-FDID`, which the API checks too.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
param cosmosEndpoint string
param vaultName string
param insightsConnectionString string
param frontDoorId string
param frontDoorEndpointId string
param publicBaseUrl string
param mailEndpoint string
param mailSender string

@description('Where encoders push RTMPS: the live ingest\'s host name and port')
param liveIngestHost string
param liveIngestPort int
param workspaceId string

var packageContainer = 'app-package'
var secret = '@Microsoft.KeyVault(VaultName=${vaultName};SecretName='

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

resource package 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: packageContainer
  properties: {
    publicAccess: 'None'
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
    zoneRedundant: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    // checkov:skip=CKV_AZURE_222: reachable from the internet only through Front Door (access restrictions below)
    // checkov:skip=CKV_AZURE_17: browsers present no client certificates; admins sign in with a password and TOTP
    // checkov:skip=CKV_AZURE_212: Flex Consumption scales out on demand over zones; one always-ready instance below
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    keyVaultReferenceIdentity: identityId
    clientCertEnabled: false
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${account.properties.primaryEndpoints.blob}${packageContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 100
        instanceMemoryMB: 2048
        alwaysReady: [
          {
            name: 'http'
            instanceCount: 1
          }
        ]
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      remoteDebuggingEnabled: false
      http20Enabled: true
      healthCheckPath: '/api/health'
      ipSecurityRestrictionsDefaultAction: 'Deny'
      ipSecurityRestrictions: [
        {
          name: 'front-door-only'
          action: 'Allow'
          priority: 100
          tag: 'ServiceTag'
          ipAddress: 'AzureFrontDoor.Backend'
          headers: {
            'x-azure-fdid': [
              frontDoorId
            ]
          }
        }
      ]
      appSettings: [
        {
          name: 'AzureWebJobsStorage__accountName'
          value: account.name
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identityClientId
        }
        {
          name: 'AZURE_CLIENT_ID'
          value: identityClientId
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: insightsConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identityClientId};Authorization=AAD'
        }
        {
          name: 'WEBCAST_ENVIRONMENT'
          value: 'azure'
        }
        {
          name: 'WEBCAST_PROCESS'
          value: 'function_app'
        }
        {
          name: 'WEBCAST_COSMOS_ENDPOINT'
          value: cosmosEndpoint
        }
        {
          name: 'WEBCAST_STORAGE_ACCOUNT_NAME'
          value: account.name
        }
        {
          name: 'WEBCAST_MALWARE_GATE'
          value: 'defender'
        }
        {
          name: 'WEBCAST_FRONT_DOOR_ID'
          value: frontDoorId
        }
        {
          name: 'WEBCAST_PUBLIC_BASE_URL'
          value: publicBaseUrl
        }
        {
          name: 'WEBCAST_MEDIA_DELIVERY_BASE_URL'
          value: publicBaseUrl
        }
        {
          name: 'WEBCAST_CDN_PURGE_ENDPOINT'
          value: frontDoorEndpointId
        }
        {
          name: 'WEBCAST_ALLOWED_ORIGINS'
          value: '["${publicBaseUrl}"]'
        }
        {
          name: 'WEBCAST_MAIL_TRANSPORT'
          value: 'acs'
        }
        {
          name: 'WEBCAST_ACS_EMAIL_ENDPOINT'
          value: mailEndpoint
        }
        {
          name: 'WEBCAST_MAIL_FROM'
          value: mailSender
        }
        {
          name: 'WEBCAST_LIVE_RTMP_HOST'
          value: liveIngestHost
        }
        {
          name: 'WEBCAST_LIVE_RTMP_PORT'
          value: string(liveIngestPort)
        }
        {
          name: 'WEBCAST_LOOKUP_HMAC_KEY'
          value: '${secret}lookup-hmac-key)'
        }
        {
          name: 'WEBCAST_LIVE_INGEST_SECRET'
          value: '${secret}live-ingest-secret)'
        }
      ]
    }
  }
}

// No publishing with user names and passwords: deployments use the identity (azd, CI).
resource ftp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: app
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output name string = app.name
output hostName string = app.properties.defaultHostName
