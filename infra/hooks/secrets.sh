#!/bin/sh
# The app's secrets in the environment's Key Vault, made once: a secret that exists stays as
# it is (a new lookup key would change every keyed hash, so every login key). Runs after
# `azd provision` (azure.yaml) or by hand: AZURE_KEY_VAULT_NAME=kv-... infra/hooks/secrets.sh
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
