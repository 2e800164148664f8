// The container registry of one environment (P30: images are imported into each, never
// shared): the media worker image and, with issue 17, the live ingest's. Images are built
// remotely (`az acr build`), since the machines that build this have no Docker engine.
param name string
param location string
param tags object
param workspaceId string

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    // checkov:skip=CKV_AZURE_139: `az acr build` and Container Apps reach it over the internet; identity only
    // checkov:skip=CKV_AZURE_166: quarantine needs Premium; images come only from this repository's builds
    // checkov:skip=CKV_AZURE_233: zone redundancy needs Premium; a lost registry is rebuilt from the repository
    // checkov:skip=CKV_AZURE_163: image scanning is Defender for Containers, not part of this deployment
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
    policies: {
      exportPolicy: {
        status: 'enabled'
      }
    }
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: registry
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

output name string = registry.name
output loginServer string = registry.properties.loginServer
