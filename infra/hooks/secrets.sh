#!/bin/sh
# The app's secrets in the environment's Key Vault, made once: a secret that exists stays as
# it is (a new lookup key would change every keyed hash, so every login key). Runs after
# `azd provision` (azure.yaml) or by hand:
#   AZURE_KEY_VAULT_NAME=kv-... AZURE_LIVE_INGEST_HOST=ca-... infra/hooks/secrets.sh
set -eu
: "${AZURE_KEY_VAULT_NAME:?set AZURE_KEY_VAULT_NAME (an output of the deployment)}"
for name in lookup-hmac-key live-ingest-secret; do
    if az keyvault secret show --vault-name "$AZURE_KEY_VAULT_NAME" --name "$name" >/dev/null 2>&1; then
        echo "secret $name: kept"
    else
        az keyvault secret set --vault-name "$AZURE_KEY_VAULT_NAME" --name "$name" \
            --value "$(openssl rand -hex 32)" --output none
        echo "secret $name: made"
    fi
done
# The live ingest's TLS certificate (RTMPS), a Key Vault certificate in PEM, whose secret of
# the same name the ingest mounts. Made self-signed for the ingest's host name when there is
# none, so that the ingest starts; encoders check certificates, so replace it with one from
# a CA for that name or your own domain (docs/deploy.md).
: "${AZURE_LIVE_INGEST_HOST:?set AZURE_LIVE_INGEST_HOST (an output of the deployment)}"
if az keyvault certificate show --vault-name "$AZURE_KEY_VAULT_NAME" --name live-ingest-tls >/dev/null 2>&1; then
    echo "certificate live-ingest-tls: kept"
else
    policy=$(cat <<POLICY
{"issuerParameters": {"name": "Self"},
 "keyProperties": {"exportable": true, "keyType": "EC", "curve": "P-256", "reuseKey": false},
 "secretProperties": {"contentType": "application/x-pem-file"},
 "x509CertificateProperties": {"subject": "CN=$AZURE_LIVE_INGEST_HOST",
   "subjectAlternativeNames": {"dnsNames": ["$AZURE_LIVE_INGEST_HOST"]},
   "validityInMonths": 12}}
POLICY
)
    az keyvault certificate create --vault-name "$AZURE_KEY_VAULT_NAME" --name live-ingest-tls \
        --policy "$policy" --output none
    echo "certificate live-ingest-tls: made (self-signed for $AZURE_LIVE_INGEST_HOST)"
fi
