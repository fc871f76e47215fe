#!/usr/bin/env bash
# azd postprovision hook (azure.yaml): after `azd provision` / `azd up` has created the resources, makes
# the DKIM keys of the TLS report signatures (the same step as infra/deploy.sh, infra/common.sh), restarts
# the app when it made a key (so its Key Vault references resolve), and prints the DNS records to publish.
# azd runs it with the azd environment's values (the outputs of bicep/main.bicep) in the environment; run
# it again with `azd hooks run postprovision`.
#
# Until the keys exist the app runs and delivers, with TLS reports off; it logs why at start-up and
# `tlsrpt pending` prints it. This hook needs the az CLI, logged in as a principal with Key Vault Secrets
# Officer on the vault (azd grants it to AZURE_PRINCIPAL_ID; log az in as the same user), and openssl.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=infra/common.sh
. "$root/infra/common.sh"

vault="${AZURE_KEY_VAULT_NAME:-}"
keys="${DKIM_KEYS:-}"
app_name="${AZURE_FUNCTION_NAME:-}"
resource_group="${AZURE_RESOURCE_GROUP:-}"

later="TLS reports stay off until the keys exist (the app logs why; 'tlsrpt pending' shows it); then run: azd hooks run postprovision"
if [ -z "$keys" ]; then
  echo "postprovision: no DKIM signatures (no MAIL_DOMAIN): no keys to create; TLS reports are off (reportSend never)."
elif [ -z "$vault" ]; then
  echo "postprovision: AZURE_KEY_VAULT_NAME is not set (run this as an azd hook, after provisioning)" >&2
  exit 1
else
  for tool in az openssl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "postprovision: '$tool' is not installed: DKIM keys not created. $later" >&2
      exit 1
    fi
  done
  if ! az account show --output none 2>/dev/null; then
    echo "postprovision: the az CLI is not logged in: DKIM keys not created. Run 'az login'. $later" >&2
    exit 1
  fi

  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  if ! store_dkim_keys "$vault" "$keys" "$work"; then
    echo "postprovision: DKIM keys not stored. $later" >&2
    exit 1
  fi
  if [ "$dkim_created" -gt 0 ] && [ -n "$app_name" ] && [ -n "$resource_group" ]; then
    # The app resolves its Key Vault references when it starts: a restart picks up the new keys.
    echo "Restarting $app_name so that it reads the new DKIM keys ..."
    az functionapp restart --resource-group "$resource_group" --name "$app_name" --output none
  fi
fi

print_dns_records "${MAIL_DOMAIN:-}" "${MTA_HOSTNAME:-}" "${TLSRPT_ENDPOINT:-}" "${EGRESS_IP:-}" "${EGRESS_IP_NAME:-}" "$resource_group"
