// The one origin's routes: the API and the participant and embed pages to the function app,
// media files from Blob storage with the query string in the cache key (segment URLs are
// signed per webcast and time window, so every viewer of a window shares one cached URL),
// and everything else to the static web build. HTTPS only; plain HTTP is redirected.
param profileName string
param endpointName string
param apiHostName string
param webHostName string
param storageAccountName string

var catalogue = loadJsonContent('../catalogue.json')

resource profile 'Microsoft.Cdn/profiles@2024-02-01' existing = {
  name: profileName
}

resource endpoint 'Microsoft.Cdn/profiles/afdEndpoints@2024-02-01' existing = {
  parent: profile
  name: endpointName
}

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource apiGroup 'Microsoft.Cdn/profiles/originGroups@2024-02-01' = {
  parent: profile
  name: 'api'
  properties: {
    loadBalancingSettings: {
      sampleSize: 4
      successfulSamplesRequired: 3
      additionalLatencyInMilliseconds: 50
    }
    healthProbeSettings: {
      probePath: '/api/health'
      probeProtocol: 'Https'
      probeRequestType: 'GET'
      probeIntervalInSeconds: 60
    }
  }
}

resource apiOrigin 'Microsoft.Cdn/profiles/originGroups/origins@2024-02-01' = {
  parent: apiGroup
  name: 'function-app'
  properties: {
    hostName: apiHostName
    originHostHeader: apiHostName
    httpsPort: 443
    enforceCertificateNameCheck: true
  }
}

resource webGroup 'Microsoft.Cdn/profiles/originGroups@2024-02-01' = {
  parent: profile
  name: 'web'
  properties: {
    loadBalancingSettings: {
      sampleSize: 4
      successfulSamplesRequired: 3
      additionalLatencyInMilliseconds: 50
    }
  }
}

resource webOrigin 'Microsoft.Cdn/profiles/originGroups/origins@2024-02-01' = {
  parent: webGroup
  name: 'static-web'
  properties: {
    hostName: webHostName
    originHostHeader: webHostName
    httpsPort: 443
    enforceCertificateNameCheck: true
  }
}

resource mediaGroup 'Microsoft.Cdn/profiles/originGroups@2024-02-01' = {
  parent: profile
  name: 'media'
  properties: {
    loadBalancingSettings: {
      sampleSize: 4
      successfulSamplesRequired: 3
      additionalLatencyInMilliseconds: 50
    }
  }
}

resource mediaOrigin 'Microsoft.Cdn/profiles/originGroups/origins@2024-02-01' = {
  parent: mediaGroup
  name: 'blob'
  properties: {
    hostName: '${account.name}.blob.${environment().suffixes.storage}'
    originHostHeader: '${account.name}.blob.${environment().suffixes.storage}'
    httpsPort: 443
    enforceCertificateNameCheck: true
  }
}

resource apiRoute 'Microsoft.Cdn/profiles/afdEndpoints/routes@2024-02-01' = {
  parent: endpoint
  name: 'api'
  dependsOn: [
    apiOrigin
  ]
  properties: {
    originGroup: {
      id: apiGroup.id
    }
    patternsToMatch: [
      '/api/*'
      '/w/*'
      '/embed/*'
    ]
    supportedProtocols: [
      'Http'
      'Https'
    ]
    httpsRedirect: 'Enabled'
    forwardingProtocol: 'HttpsOnly'
    linkToDefaultDomain: 'Enabled'
    // The API marks what may be cached (live playlists for a second, by their signed URL).
    cacheConfiguration: {
      queryStringCachingBehavior: 'UseQueryString'
      compressionSettings: {
        isCompressionEnabled: true
        contentTypesToCompress: [
          'application/json'
          'application/vnd.apple.mpegurl'
          'text/html'
        ]
      }
    }
  }
}

resource mediaRoute 'Microsoft.Cdn/profiles/afdEndpoints/routes@2024-02-01' = {
  parent: endpoint
  name: 'media'
  dependsOn: [
    mediaOrigin
    apiRoute
  ]
  properties: {
    originGroup: {
      id: mediaGroup.id
    }
    patternsToMatch: [for container in catalogue.deliveredContainers: '/${container}/*']
    supportedProtocols: [
      'Http'
      'Https'
    ]
    httpsRedirect: 'Enabled'
    forwardingProtocol: 'HttpsOnly'
    linkToDefaultDomain: 'Enabled'
    cacheConfiguration: {
      queryStringCachingBehavior: 'UseQueryString'
    }
  }
}

resource webRoute 'Microsoft.Cdn/profiles/afdEndpoints/routes@2024-02-01' = {
  parent: endpoint
  name: 'web'
  dependsOn: [
    webOrigin
    mediaRoute
  ]
  properties: {
    originGroup: {
      id: webGroup.id
    }
    patternsToMatch: [
      '/*'
    ]
    supportedProtocols: [
      'Http'
      'Https'
    ]
    httpsRedirect: 'Enabled'
    forwardingProtocol: 'HttpsOnly'
    linkToDefaultDomain: 'Enabled'
    cacheConfiguration: {
      queryStringCachingBehavior: 'IgnoreQueryString'
      compressionSettings: {
        isCompressionEnabled: true
        contentTypesToCompress: [
          'text/html'
          'text/css'
          'application/javascript'
          'image/svg+xml'
        ]
      }
    }
  }
}
