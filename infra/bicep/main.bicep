// The webcast platform in one resource group per environment, every regional resource in
// West Europe (the Netherlands). Deploy with `azd up`, or with
// `az deployment sub create -l westeurope -f infra/bicep/main.bicep -p @infra/bicep/environments/<env>.json`.
targetScope = 'subscription'

@minLength(1)
@maxLength(16)
@description('The environment (test, prod, ...): part of every resource name, one resource group each')
param environmentName string

// P27: every regional resource and every copy of data stays in the Netherlands.
@allowed([
  'westeurope'
])
@description('The region of every regional resource')
param location string = 'westeurope'

@description('Autoscale maximum RU/s of each Cosmos DB container not named in cosmosThroughput')
param cosmosMaxThroughput int = 1000

@description('Autoscale maximum RU/s by container name, for the hot ones (docs/deploy.md sizes them)')
param cosmosThroughput object = {}

@description('The media worker image in this environment\'s registry (docs/deploy.md builds it)')
param workerImage string = 'mcr.microsoft.com/k8se/quickstart-jobs:latest'

@description('The live-ingest image in this environment\'s registry; empty: no ingest yet (docs/deploy.md builds it)')
param ingestImage string = ''

@description('An extra principal (a developer or the CI) given the data roles, or empty')
param operatorPrincipalId string = ''

var abbrs = loadJsonContent('abbreviations.json')
// Encoders push RTMPS to 443; stunnel listens on 1936 in the container (decision 0068).
var ingestPort = 443
var ingestTlsPort = 1936
var ingestName = '${abbrs.appContainerApps}live-ingest-${environmentName}'
var token = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  environment: environmentName
  workload: 'webcast'
}

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}webcast-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: group
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}webcast-${environmentName}'
    location: location
    tags: tags
  }
}

// The media worker's own identity: it reads sources and writes renditions, nothing else.
module workerIdentity 'modules/identity.bicep' = {
  name: 'worker-identity'
  scope: group
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}media-worker-${environmentName}'
    location: location
    tags: tags
  }
}

// The store export's own identity: it reads the documents and writes the backup account.
module exportIdentity 'modules/identity.bicep' = {
  name: 'export-identity'
  scope: group
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}store-export-${environmentName}'
    location: location
    tags: tags
  }
}

// The live ingest's own identity: it writes the live output and stages recordings.
module ingestIdentity 'modules/identity.bicep' = {
  name: 'ingest-identity'
  scope: group
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}live-ingest-${environmentName}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: group
  params: {
    workspaceName: '${abbrs.operationalInsightsWorkspaces}webcast-${environmentName}'
    insightsName: '${abbrs.insightsComponents}webcast-${environmentName}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: group
  params: {
    name: toLower('${abbrs.storageStorageAccounts}${take(replace(environmentName, '-', ''), 8)}${take(token, 12)}')
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
  }
}

module backup 'modules/backup.bicep' = {
  name: 'backup'
  scope: group
  params: {
    name: toLower('${abbrs.storageBackupAccounts}${take(replace(environmentName, '-', ''), 8)}${take(token, 10)}')
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  scope: group
  params: {
    name: '${abbrs.documentDBDatabaseAccounts}webcast-${environmentName}-${take(token, 8)}'
    location: location
    tags: tags
    maxThroughput: cosmosMaxThroughput
    throughputByContainer: cosmosThroughput
    workspaceId: monitoring.outputs.workspaceId
  }
}

module events 'modules/events.bicep' = {
  name: 'events'
  scope: group
  params: {
    name: '${abbrs.eventGridDomainsTopics}webcast-${environmentName}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    workspaceId: monitoring.outputs.workspaceId
  }
}

module vault 'modules/keyvault.bicep' = {
  name: 'vault'
  scope: group
  params: {
    name: '${abbrs.keyVaultVaults}${take(environmentName, 8)}-${take(token, 12)}'
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
  }
}

module frontDoor 'modules/frontdoor.bicep' = {
  name: 'front-door'
  scope: group
  params: {
    profileName: '${abbrs.cdnProfiles}webcast-${environmentName}'
    endpointName: '${abbrs.cdnProfilesEndpoints}webcast-${environmentName}-${take(token, 8)}'
    wafName: '${abbrs.networkFrontDoorWebApplicationFirewallPolicies}webcast${replace(environmentName, '-', '')}'
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
  }
}

module web 'modules/web.bicep' = {
  name: 'web'
  scope: group
  params: {
    name: '${abbrs.webStaticSites}webcast-${environmentName}'
    location: location
    tags: tags
  }
}

module mail 'modules/mail.bicep' = {
  name: 'mail'
  scope: group
  params: {
    emailName: '${abbrs.communicationEmailServices}webcast-${environmentName}'
    communicationName: '${abbrs.communicationCommunicationServices}webcast-${environmentName}-${take(token, 8)}'
    tags: tags
  }
}

module functions 'modules/functions.bicep' = {
  name: 'functions'
  scope: group
  params: {
    name: '${abbrs.webSitesFunctions}webcast-${environmentName}-${take(token, 8)}'
    planName: '${abbrs.webServerFarms}webcast-${environmentName}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    cosmosEndpoint: cosmos.outputs.endpoint
    vaultName: vault.outputs.name
    insightsConnectionString: monitoring.outputs.connectionString
    frontDoorId: frontDoor.outputs.frontDoorId
    frontDoorEndpointId: frontDoor.outputs.endpointId
    publicBaseUrl: 'https://${frontDoor.outputs.hostName}'
    mailEndpoint: mail.outputs.endpoint
    mailSender: mail.outputs.sender
    liveIngestHost: '${ingestName}.${containerApps.outputs.defaultDomain}'
    liveIngestPort: ingestPort
    workspaceId: monitoring.outputs.workspaceId
  }
}

module routes 'modules/routes.bicep' = {
  name: 'routes'
  scope: group
  params: {
    profileName: frontDoor.outputs.profileName
    endpointName: frontDoor.outputs.endpointName
    apiHostName: functions.outputs.hostName
    webHostName: web.outputs.hostName
    storageAccountName: storage.outputs.name
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  scope: group
  params: {
    name: '${abbrs.containerRegistryRegistries}webcast${replace(environmentName, '-', '')}${take(token, 8)}'
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
  }
}

module network 'modules/network.bicep' = {
  name: 'network'
  scope: group
  params: {
    name: '${abbrs.networkVirtualNetworks}webcast-${environmentName}'
    securityGroupName: '${abbrs.networkNetworkSecurityGroups}webcast-${environmentName}'
    location: location
    tags: tags
    ingestPort: ingestPort
    workspaceId: monitoring.outputs.workspaceId
  }
}

module containerApps 'modules/containerapps.bicep' = {
  name: 'container-apps'
  scope: group
  params: {
    environmentName: '${abbrs.appManagedEnvironments}webcast-${environmentName}'
    jobName: '${abbrs.appContainerAppsJobs}transcode-${environmentName}'
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    identityId: workerIdentity.outputs.id
    identityClientId: workerIdentity.outputs.clientId
    registryServer: registry.outputs.loginServer
    storageAccountName: storage.outputs.name
    cosmosEndpoint: cosmos.outputs.endpoint
    workerImage: workerImage
    exportJobName: '${abbrs.appContainerAppsJobs}store-export-${environmentName}'
    exportIdentityId: exportIdentity.outputs.id
    exportIdentityClientId: exportIdentity.outputs.clientId
    backupAccountUrl: backup.outputs.blobEndpoint
    subnetId: network.outputs.appsSubnetId
  }
}

// Once its image is built (and the postprovision hook made its TLS secret).
module ingest 'modules/ingest.bicep' = if (!empty(ingestImage)) {
  name: 'live-ingest'
  scope: group
  dependsOn: [
    rbac
  ]
  params: {
    name: ingestName
    location: location
    tags: tags
    environmentId: containerApps.outputs.environmentId
    identityId: ingestIdentity.outputs.id
    identityClientId: ingestIdentity.outputs.clientId
    registryServer: registry.outputs.loginServer
    image: ingestImage
    storageAccountName: storage.outputs.name
    cosmosEndpoint: cosmos.outputs.endpoint
    vaultUri: vault.outputs.uri
    publicBaseUrl: 'https://${frontDoor.outputs.hostName}'
    ingestPort: ingestPort
    tlsPort: ingestTlsPort
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  scope: group
  params: {
    storageAccountName: storage.outputs.name
    cosmosAccountName: cosmos.outputs.name
    vaultName: vault.outputs.name
    insightsName: monitoring.outputs.insightsName
    frontDoorProfileName: frontDoor.outputs.profileName
    communicationName: mail.outputs.name
    registryName: registry.outputs.name
    workerPrincipalId: workerIdentity.outputs.principalId
    ingestPrincipalId: ingestIdentity.outputs.principalId
    backupAccountName: backup.outputs.name
    exportPrincipalId: exportIdentity.outputs.principalId
    appPrincipalId: identity.outputs.principalId
    blobTopicPrincipalId: events.outputs.blobTopicPrincipalId
    scanTopicPrincipalId: events.outputs.scanTopicPrincipalId
    operatorPrincipalId: operatorPrincipalId
  }
}

module subscriptions 'modules/subscriptions.bicep' = {
  name: 'subscriptions'
  scope: group
  dependsOn: [
    rbac
  ]
  params: {
    blobTopicName: events.outputs.blobTopicName
    scanTopicName: events.outputs.scanTopicName
    storageAccountName: storage.outputs.name
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = group.name
output AZURE_CLIENT_ID string = identity.outputs.clientId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_TRANSCODE_JOB_NAME string = containerApps.outputs.transcodeJobName
output AZURE_BACKUP_ACCOUNT_NAME string = backup.outputs.name
output AZURE_FUNCTION_APP_NAME string = functions.outputs.name
output AZURE_STATIC_WEB_APP_NAME string = web.outputs.name
output AZURE_LIVE_INGEST_HOST string = '${ingestName}.${containerApps.outputs.defaultDomain}'
output AZURE_FRONT_DOOR_ENDPOINT string = 'https://${frontDoor.outputs.hostName}'
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
