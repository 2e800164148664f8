// Every role assignment of the deployment, least privilege each: the app's identity on the
// data (blob tags need the owner role; user-delegation SAS needs the delegator), Event Grid's
// topics may only put messages into queues, an optional operator gets the app's data roles.
param storageAccountName string
param cosmosAccountName string
param vaultName string
param insightsName string
param frontDoorProfileName string
param communicationName string
param registryName string
param workerPrincipalId string
param ingestPrincipalId string
param backupAccountName string
param exportPrincipalId string
param appPrincipalId string
param blobTopicPrincipalId string
param scanTopicPrincipalId string
param operatorPrincipalId string = ''

var catalogue = loadJsonContent('../catalogue.json')
var blobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var blobDelegator = 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a'
var queueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var queueMessageSender = 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
var cosmosDataContributor = '00000000-0000-0000-0000-000000000002'
var cosmosDataReader = '00000000-0000-0000-0000-000000000001'
var secretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var metricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'
// The deletion job purges the webcast's paths from Front Door (shared/cdn.py); the built-in
// role closest to that one action, on this profile only.
var cdnProfileContributor = 'ec156ff8-a8d1-4d15-830c-5b80698ca432'
var blobDataReader = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
var blobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'
// The media worker (decision 0017): read sources, write and delete renditions, take jobs
// from `transcode` (and renew their lease), report on `media-results`, give up to the
// poison queue; pull its image. Each on that one container or queue; no secret.
// Sending mail with the identity (no access key); on the Communication Services resource only.
var contributor = 'b24988ac-6180-42a3-ab88-20f7382dd24c'
var appRoles = [
  blobDataOwner
  blobDelegator
  queueDataContributor
]

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' existing = {
  name: cosmosAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: insightsName
}

resource frontDoor 'Microsoft.Cdn/profiles@2024-02-01' existing = {
  name: frontDoorProfileName
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

resource uploads 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${storageAccountName}/default/uploads'
}

resource media 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${storageAccountName}/default/media'
}

resource transcode 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  name: '${storageAccountName}/default/transcode'
}

resource results 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  name: '${storageAccountName}/default/media-results'
}

resource transcodePoison 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  name: '${storageAccountName}/default/transcode-poison'
}

resource workerSources 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(uploads.id, workerPrincipalId, blobDataReader)
  scope: uploads
  properties: {
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataReader)
  }
}

resource workerRenditions 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(media.id, workerPrincipalId, blobDataContributor)
  scope: media
  properties: {
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributor)
  }
}

resource workerJobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(transcode.id, workerPrincipalId, queueDataContributor)
  scope: transcode
  properties: {
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueDataContributor)
  }
}

resource workerResults 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(results.id, workerPrincipalId, queueMessageSender)
  scope: results
  properties: {
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueMessageSender)
  }
}

resource workerGivesUp 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(transcodePoison.id, workerPrincipalId, queueMessageSender)
  scope: transcodePoison
  properties: {
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueMessageSender)
  }
}

resource workerPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, workerPrincipalId, acrPull)
  scope: registry
  properties: {
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
  }
}

// The live ingest (decision 0068): write and delete the live output, stage and commit
// recordings into `uploads` (where the VOD pipeline takes them), pull its image, read the
// ingest secret and its TLS certificate.
resource live 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${storageAccountName}/default/live'
}

resource ingestOutput 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(live.id, ingestPrincipalId, blobDataContributor)
  scope: live
  properties: {
    principalId: ingestPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributor)
  }
}

resource ingestRecordings 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(uploads.id, ingestPrincipalId, blobDataContributor)
  scope: uploads
  properties: {
    principalId: ingestPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributor)
  }
}

resource ingestPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, ingestPrincipalId, acrPull)
  scope: registry
  properties: {
    principalId: ingestPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
  }
}

resource ingestSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, ingestPrincipalId, secretsUser)
  scope: vault
  properties: {
    principalId: ingestPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUser)
  }
}

// The store export (P32): read every document, write its audit entry, write the exports.
resource backupExports 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${backupAccountName}/default/${catalogue.storeExportContainer}'
}

resource exportWrites 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(backupExports.id, exportPrincipalId, blobDataContributor)
  scope: backupExports
  properties: {
    principalId: exportPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributor)
  }
}

resource exportReads 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: cosmos
  name: guid(cosmos.id, exportPrincipalId, cosmosDataReader)
  properties: {
    principalId: exportPrincipalId
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataReader}'
    scope: cosmos.id
  }
}

resource exportAudits 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: cosmos
  name: guid(cosmos.id, exportPrincipalId, cosmosDataContributor, 'audit')
  properties: {
    principalId: exportPrincipalId
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributor}'
    scope: '${cosmos.id}/dbs/${catalogue.cosmosDatabase}/colls/audit'
  }
}

resource exportPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, exportPrincipalId, acrPull)
  scope: registry
  properties: {
    principalId: exportPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
  }
}

resource communication 'Microsoft.Communication/communicationServices@2023-04-01' existing = {
  name: communicationName
}

resource appMail 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(communication.id, appPrincipalId, contributor)
  scope: communication
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', contributor)
  }
}

resource appSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, secretsUser)
  scope: vault
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUser)
  }
}

resource appTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, appPrincipalId, metricsPublisher)
  scope: insights
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', metricsPublisher)
  }
}

resource appPurge 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(frontDoor.id, appPrincipalId, cdnProfileContributor)
  scope: frontDoor
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cdnProfileContributor)
  }
}

resource appStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in appRoles: {
  name: guid(account.id, appPrincipalId, role)
  scope: account
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
  }
}]

resource operatorStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in appRoles: if (!empty(operatorPrincipalId)) {
  name: guid(account.id, operatorPrincipalId, role)
  scope: account
  properties: {
    principalId: operatorPrincipalId
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
  }
}]

resource blobEventsSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, blobTopicPrincipalId, queueMessageSender)
  scope: account
  properties: {
    principalId: blobTopicPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueMessageSender)
  }
}

resource scanEventsSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, scanTopicPrincipalId, queueMessageSender)
  scope: account
  properties: {
    principalId: scanTopicPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueMessageSender)
  }
}

resource appCosmos 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: cosmos
  name: guid(cosmos.id, appPrincipalId, cosmosDataContributor)
  properties: {
    principalId: appPrincipalId
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributor}'
    scope: cosmos.id
  }
}

resource operatorCosmos 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = if (!empty(operatorPrincipalId)) {
  parent: cosmos
  name: guid(cosmos.id, operatorPrincipalId, cosmosDataContributor)
  properties: {
    principalId: operatorPrincipalId
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributor}'
    scope: cosmos.id
  }
}
