// Key Vault in RBAC mode with purge protection: the app's secrets (the lookup key that every
// keyed hash uses, the live ingest's secret). They are set once, outside the template
// (infra/hooks/secrets.sh), since a template that drew new ones on every deployment would
// change every login key; the app settings reference them by name.
param name string
param location string
param tags object
param workspaceId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // checkov:skip=CKV_AZURE_109: the function app has no fixed addresses; RBAC and its identity guard the secrets
    // checkov:skip=CKV_AZURE_189: the same: public network access, identity only
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enablePurgeProtection: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
