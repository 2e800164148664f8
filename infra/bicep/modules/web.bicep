// The static web build (admin console, participant pages' assets) on a Static Web App in
// West Europe, reached through Front Door: it holds the build only, no participant data.
param name string
param location string
param tags object

resource site 'Microsoft.Web/staticSites@2023-12-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'web'
  })
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    allowConfigFileUpdates: true
    stagingEnvironmentPolicy: 'Disabled'
  }
}

output name string = site.name
output hostName string = site.properties.defaultHostname
