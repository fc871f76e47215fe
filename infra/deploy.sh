#!/usr/bin/env bash
# Deploys MtaFunctions to Azure with the az CLI: checks the login, creates the resource group,
# provisions bicep/main.bicep (subscription scope), stores the DKIM keys in Key Vault, builds and
# zip-deploys the Function App, then prints the TLS report endpoint and the DNS records to publish.
# `azd up` does the same provisioning and deployment (azure.yaml); this script also prints the records.
#
# Usage: infra/deploy.sh -e <environment> -l <location> [-d <mail domain>] [--vnet]
#                        [--skip-build] [-- <extra bicep parameters name=value ...>]
# README "Deploy" describes every option and parameter.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"

usage() {
  cat <<'EOF'
Usage: infra/deploy.sh -e <environment> -l <location> [-d <mail domain>] [--vnet] [--skip-build]
                       [-- name=value ...]
  -e, --environment  environment name (resource group rg-<environment>); default $AZURE_ENV_NAME
  -l, --location     Azure region offering Flex Consumption; default $AZURE_LOCATION
  -d, --domain       domain mail and TLS reports are sent from (DKIM d=, SPF, _smtp._tls); default $MAIL_DOMAIN
  -g, --resource-group  resource group name; default rg-<environment>
      --vnet         VNet integration + NAT gateway: one static egress IP (for SPF and reverse DNS)
      --skip-build   provision only, do not build and deploy the code
  after --            further parameters of bicep/main.bicep, e.g. dane=require mtaHostname=mx.example.com
EOF
}

env_name="${AZURE_ENV_NAME:-}"
location="${AZURE_LOCATION:-}"
mail_domain="${MAIL_DOMAIN:-}"
resource_group="${AZURE_RESOURCE_GROUP:-}"
vnet_enabled="${VNET_ENABLED:-false}"
skip_build=false
extra_parameters=()

while [ $# -gt 0 ]; do
  case "$1" in
    -e | --environment) env_name="${2:?$1 needs a value}"; shift 2 ;;
    -l | --location) location="${2:?$1 needs a value}"; shift 2 ;;
    -d | --domain) mail_domain="${2:?$1 needs a value}"; shift 2 ;;
    -g | --resource-group) resource_group="${2:?$1 needs a value}"; shift 2 ;;
    --vnet) vnet_enabled=true; shift ;;
    --skip-build) skip_build=true; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; extra_parameters=("$@"); break ;;
    *) echo "deploy.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

if [ -z "$env_name" ] || [ -z "$location" ]; then
  echo "deploy.sh: an environment name (-e) and a location (-l) are required" >&2
  usage >&2
  exit 2
fi
resource_group="${resource_group:-rg-$env_name}"

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "deploy.sh: '$1' is required ($2)" >&2; exit 1; }
}
need az "https://learn.microsoft.com/cli/azure/install-azure-cli"
need openssl "DKIM key generation"
if [ "$skip_build" = false ]; then
  need dotnet "the .NET 10 SDK builds the Function App"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# ---- 1. Login ----
if ! az account show --output none 2>/dev/null; then
  echo "deploy.sh: not logged in to Azure. Run 'az login' (and 'az account set --subscription <id>')." >&2
  exit 1
fi
subscription="$(az account show --query name --output tsv)"
account_type="$(az account show --query user.type --output tsv)"
if [ "$account_type" = "servicePrincipal" ]; then
  principal_type=ServicePrincipal
  principal_id="$(az ad sp show --id "$(az account show --query user.name --output tsv)" --query id --output tsv 2>/dev/null || true)"
else
  principal_type=User
  principal_id="$(az ad signed-in-user show --query id --output tsv 2>/dev/null || true)"
fi
if [ -z "$principal_id" ]; then
  echo "deploy.sh: warning: could not look up your principal id; you get no Key Vault or storage roles, so DKIM keys cannot be stored." >&2
fi
echo "Subscription: $subscription; environment $env_name in $location; resource group $resource_group"

# ---- 2. Resource group (main.bicep declares it too; creating it first fails early on missing rights) ----
az group create --name "$resource_group" --location "$location" \
  --tags "azd-env-name=$env_name" --output none

if [ "$vnet_enabled" = true ]; then
  # Flex Consumption VNet integration uses subnets delegated to Microsoft.App/environments.
  az provider register --namespace Microsoft.App --wait --output none
fi

# ---- 3. Infrastructure ----
deployment="mtafunctions-$env_name"
echo "Deploying bicep/main.bicep as subscription deployment '$deployment' ..."
if ! az deployment sub create \
  --name "$deployment" \
  --location "$location" \
  --template-file "$root/bicep/main.bicep" \
  --parameters environmentName="$env_name" location="$location" resourceGroupName="$resource_group" \
  principalId="$principal_id" principalType="$principal_type" vnetEnabled="$vnet_enabled" \
  mailDomain="$mail_domain" \
  ${extra_parameters[@]+"${extra_parameters[@]}"} \
  --output none; then
  echo "deploy.sh: deployment failed. If the error names the runtime version, Flex Consumption does not offer" >&2
  echo "  dotnet-isolated 10.0 in $location yet: see README 'Deploy' (runtimeVersion=8.0 + retarget the app)." >&2
  exit 1
fi

output() {
  az deployment sub show --name "$deployment" --query "properties.outputs.$1.value" --output tsv
}
app_name="$(output AZURE_FUNCTION_NAME)"
key_vault="$(output AZURE_KEY_VAULT_NAME)"
endpoint="$(output TLSRPT_ENDPOINT)"
egress_ip="$(output EGRESS_IP)"
egress_ip_name="$(output EGRESS_IP_NAME)"
mta_hostname="$(output MTA_HOSTNAME)"

# ---- 4. DKIM keys (Key Vault secrets behind the Report__Dkim__<name>__PrivateKey references) ----
# Prints the DKIM TXT value (v=DKIM1; k=...; p=...) of a PEM private key.
dkim_record() {
  local key="$1" algorithm="$2"
  if [ "$algorithm" = ed25519-sha256 ]; then
    # RFC 8463 §4.2: p= is the bare 32-byte Ed25519 public key, the last 32 bytes of its DER form.
    printf 'v=DKIM1; k=ed25519; p=%s' "$(openssl pkey -in "$key" -pubout -outform DER | tail -c 32 | base64 -w0)"
  else
    printf 'v=DKIM1; k=rsa; p=%s' "$(openssl pkey -in "$key" -pubout -outform DER | base64 -w0)"
  fi
}

dkim_records=()
signatures="$(az deployment sub show --name "$deployment" \
  --query "properties.outputs.DKIM_SIGNATURES.value[].[name, domain, selector, algorithm, secretName]" --output tsv)"
while IFS=$'\t' read -r sig_name sig_domain sig_selector sig_algorithm sig_secret; do
  [ -n "$sig_name" ] || continue
  key_file="$work/$sig_secret.pem"
  if az keyvault secret show --vault-name "$key_vault" --name "$sig_secret" --query value --output tsv >"$key_file" 2>/dev/null \
    && [ -s "$key_file" ]; then
    echo "DKIM key '$sig_name': using secret $sig_secret of $key_vault"
  else
    echo "DKIM key '$sig_name': generating $sig_algorithm key, storing it as secret $sig_secret of $key_vault"
    (
      umask 077
      if [ "$sig_algorithm" = ed25519-sha256 ]; then
        openssl genpkey -algorithm ED25519 -out "$key_file"
      else
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$key_file" 2>/dev/null
      fi
    )
    # A fresh role assignment (Key Vault Secrets Officer) can take a few minutes to apply.
    stored=false
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
      if az keyvault secret set --vault-name "$key_vault" --name "$sig_secret" --file "$key_file" \
        --content-type application/x-pem-file --output none 2>/dev/null; then
        stored=true
        break
      fi
      echo "  Key Vault refused the secret (attempt $attempt; role assignment not active yet?), retrying in 30 s"
      sleep 30
    done
    if [ "$stored" = false ]; then
      echo "deploy.sh: could not store DKIM key $sig_secret in $key_vault; grant yourself Key Vault Secrets Officer and rerun" >&2
      exit 1
    fi
  fi
  dkim_records+=("$sig_selector._domainkey.$sig_domain. TXT \"$(dkim_record "$key_file" "$sig_algorithm")\"")
  rm -f "$key_file"
done <<<"$signatures"

# ---- 5. Build and zip-deploy the Function App ----
if [ "$skip_build" = false ]; then
  echo "Building functions/MtaFunctions ..."
  dotnet publish "$root/functions/MtaFunctions" --configuration Release --output "$work/publish" --nologo -v quiet
  if command -v zip >/dev/null 2>&1; then
    (cd "$work/publish" && zip -q -r "$work/app.zip" .)
  else
    need python3 "packaging the app (or install zip)"
    python3 - "$work/publish" "$work/app.zip" <<'PY'
import os, sys, zipfile
source, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
    for folder, _, files in os.walk(source):
        for name in files:
            path = os.path.join(folder, name)
            archive.write(path, os.path.relpath(path, source))
PY
  fi
  echo "Deploying the package to $app_name ..."
  az functionapp deployment source config-zip --resource-group "$resource_group" --name "$app_name" \
    --src "$work/app.zip" --output none
fi

# ---- 6. What the operator publishes ----
domain_label="${mail_domain:-<your mail domain>}"
hostname_label="${mta_hostname:-<EHLO host name>}"
cat <<EOF

Deployed. Function App: $app_name (resource group $resource_group)

TLS report endpoint (RFC 8460 https rua; POST application/tlsrpt+gzip or +json):
  $endpoint

DNS records to publish:
  # Reports about your domain's inbound TLS come to this app (RFC 8460 §3):
  _smtp._tls.$domain_label. TXT "v=TLSRPTv1; rua=$endpoint"
EOF
if [ -n "$egress_ip" ]; then
  cat <<EOF
  # All outbound mail leaves from the NAT gateway's static IP $egress_ip:
  $hostname_label. A $egress_ip
  $domain_label. TXT "v=spf1 ip4:$egress_ip -all"      (merge into your existing SPF record, if any)
  # Reverse DNS (PTR) of $egress_ip -> $hostname_label, once the A record above resolves:
  #   az network public-ip update -g $resource_group -n $egress_ip_name --reverse-fqdn $hostname_label.
  #   (or redeploy with egressReverseFqdn=$hostname_label.)
EOF
else
  cat <<EOF
  # No static egress IP (deployed without --vnet): outbound mail leaves from shared, changing
  # platform addresses that SPF cannot name and whose reverse DNS you cannot set; most receivers will
  # reject or junk such mail. Redeploy with --vnet for a NAT gateway with one static IP.
EOF
fi
if [ ${#dkim_records[@]} -gt 0 ]; then
  echo "  # DKIM public keys of the TLS report signatures (split values over 255 characters into several strings):"
  for record in "${dkim_records[@]}"; do
    echo "  $record"
  done
else
  echo "  # No DKIM signatures: deploy with -d <mail domain> (or dkimSignatures=...) to sign TLS report mail."
fi
cat <<EOF

Outbound port 25: Azure blocks TCP 25 to the internet for most subscription types (only Enterprise
Agreement and MCA-E subscriptions may send directly). See README "Deploy" before sending mail.
EOF
