// The live ingest (decision 0068): nginx with the RTMP module and the live ladder's ffmpeg,
// behind stunnel, which ends the encoders' RTMPS and hands plain RTMP to nginx on loopback
// (media_pipelines/live/Dockerfile). A Container App with TCP ingress: port 443 outside,
// stunnel's port inside. One replica holds the sessions it ingests in its own process.
// Its own identity: it writes the live output and stages recordings, nothing else.
param name string
param location string
param tags object
param environmentId string
param identityId string
param identityClientId string
param registryServer string
param image string
param storageAccountName string
param cosmosEndpoint string
param vaultUri string
param publicBaseUrl string

@description('The RTMPS port encoders connect to')
param ingestPort int

@description('The port stunnel listens on in the container (media_pipelines/live/stunnel.conf)')
param tlsPort int

resource ingest 'Microsoft.App/containerApps@2025-01-01' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        transport: 'tcp'
        targetPort: tlsPort
        exposedPort: ingestPort
      }
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
      secrets: [
        {
          name: 'live-ingest-secret'
          keyVaultUrl: '${vaultUri}secrets/live-ingest-secret'
          identity: identityId
        }
        {
          name: 'live-ingest-tls'
          keyVaultUrl: '${vaultUri}secrets/live-ingest-tls'
          identity: identityId
        }
      ]
    }
    template: {
      scale: {
        minReplicas: 1
        maxReplicas: 1
      }
      volumes: [
        {
          name: 'tls'
          storageType: 'Secret'
          secrets: [
            {
              secretRef: 'live-ingest-tls'
              path: 'ingest.pem'
            }
          ]
        }
      ]
      containers: [
        {
          name: 'live-ingest'
          image: image
          resources: {
            cpu: json('4')
            memory: '8Gi'
          }
          volumeMounts: [
            {
              volumeName: 'tls'
              mountPath: '/mnt/tls'
            }
          ]
          probes: [
            {
              type: 'Liveness'
              tcpSocket: {
                port: tlsPort
              }
              periodSeconds: 10
            }
          ]
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
              value: 'live_ingest'
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
              name: 'WEBCAST_PUBLIC_BASE_URL'
              value: publicBaseUrl
            }
            {
              name: 'WEBCAST_MALWARE_GATE'
              value: 'defender'
            }
            {
              name: 'WEBCAST_LIVE_INGEST_SECRET'
              secretRef: 'live-ingest-secret'
            }
          ]
        }
      ]
    }
  }
}

output name string = ingest.name
