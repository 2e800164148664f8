// Log Analytics and Application Insights. The tables that can hold addresses or request URLs
// keep them no longer than the deletion window (the workspace's own minimum is 30 days);
// Front Door's access logs and the mail delivery logs are not collected at all (see their
// modules). Application Insights masks client IP addresses (its default, stated here).
param workspaceName string
param insightsName string
param location string
param tags object

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    retentionInDays: 30
    sku: {
      name: 'PerGB2018'
    }
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

var catalogue = loadJsonContent('../catalogue.json')
var shortLivedTables = [
  'AppRequests'
  'AppDependencies'
  'AppTraces'
  'AppExceptions'
  'FunctionAppLogs'
  'StorageBlobLogs'
  'StorageQueueLogs'
  'ContainerAppConsoleLogs'
  'ContainerAppSystemLogs'
]

resource tables 'Microsoft.OperationalInsights/workspaces/tables@2022-10-01' = [for table in shortLivedTables: {
  parent: workspace
  name: table
  properties: {
    retentionInDays: catalogue.softDeleteDays
    totalRetentionInDays: catalogue.softDeleteDays
  }
}]

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: insightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableIpMasking: false
    DisableLocalAuth: true
    RetentionInDays: 30
  }
}

output workspaceId string = workspace.id
output insightsName string = insights.name
output connectionString string = insights.properties.ConnectionString
