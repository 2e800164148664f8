// Log Analytics and Application Insights. Logs that can hold addresses or tokens (request
// URLs, mail delivery) are kept 30 days, within the deletion window's month; Application
// Insights masks client IP addresses (its default, stated here).
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
