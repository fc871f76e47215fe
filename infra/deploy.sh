#!/usr/bin/env bash
# Deploys MtaFunctions to Azure with the az CLI: checks the login, creates the resource group,
# provisions bicep/main.bicep (subscription scope), stores the DKIM keys in Key Vault, builds and
# zip-deploys the Function App, then prints the TLS report endpoint and the DNS records to publish.
# `azd up` does the same (azure.yaml; its postprovision hook runs the same key step, infra/common.sh).
#
# Usage: infra/deploy.sh -e <environment> -l <location> [-d <mail domain>] [--vnet]
#                        [--skip-build] [-- <extra bicep parameters name=value ...>]
# README "Deploy" describes every option and parameter.
#
# Parameters: every parameter that bicep/main.parameters.json maps to an azd variable (${VAR} or
# ${VAR=default}) is passed, taken from (first wins) the options below, the process environment, the azd
# environment of the same name (`azd env get-values`, when azd is installed), then the default there:
# a second run never silently resets what azd or an earlier run set.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=infra/common.sh
. "$root/infra/common.sh"

usage() {
  cat <<'EOF'
Usage: infra/deploy.sh -e <environment> -l <location> [-d <mail domain>] [--vnet] [--skip-build]
                       [-- name=value ...]
  -e, --environment  environment name (resource group rg-<environment>); default $AZURE_ENV_NAME
  -l, --location     Azure region offering Flex Consumption; default $AZURE_LOCATION
  -d, --domain       domain mail and TLS reports are sent from (DKIM d=, SPF, _smtp._tls); default $MAIL_DOMAIN
  -g, --resource-group  resource group name; default $AZURE_RESOURCE_GROUP, else rg-<environment>
      --vnet         VNet integration + NAT gateway: one static egress IP (for SPF and reverse DNS);
                     default $VNET_ENABLED
      --skip-build   provision only, do not build and deploy the code
  after --            further parameters of bicep/main.bicep, e.g. dane=require mtaHostname=mx.example.com
  Every variable of bicep/main.parameters.json (FUNCTIONS_RUNTIME_VERSION, DNS_SERVERS,
  EGRESS_REVERSE_FQDN, ...) is read from the environment, else from the azd environment of that name.
EOF
}

option_env=""
option_location=""
option_domain=""
option_group=""
option_vnet=""
skip_build=false
extra_parameters=()

while [ $# -gt 0 ]; do
  case "$1" in
    -e | --environment) option_env="${2:?$1 needs a value}"; shift 2 ;;
    -l | --location) option_location="${2:?$1 needs a value}"; shift 2 ;;
    -d | --domain) option_domain="${2:?$1 needs a value}"; shift 2 ;;
    -g | --resource-group) option_group="${2:?$1 needs a value}"; shift 2 ;;
    --vnet) option_vnet=true; shift ;;
    --skip-build) skip_build=true; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; extra_parameters=("$@"); break ;;
    *) echo "deploy.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

env_name="${option_env:-${AZURE_ENV_NAME:-}}"

# The azd environment of that name fills what neither the options nor the process environment set.
if [ -n "$env_name" ] && command -v azd >/dev/null 2>&1; then
  if azd_values="$(azd env get-values --environment "$env_name" 2>/dev/null)"; then
    echo "Reading azd environment '$env_name' for what the options and the environment leave unset"
    while IFS= read -r line; do
      key="${line%%=*}"
      value="${line#*=}"
      value="${value#\"}"
      value="${value%\"}"
      [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
      [ -n "${!key:-}" ] || export "$key=$value"
    done <<<"$azd_values"
  fi
fi

location="${option_location:-${AZURE_LOCATION:-}}"
mail_domain="${option_domain:-${MAIL_DOMAIN:-}}"
resource_group="${option_group:-${AZURE_RESOURCE_GROUP:-}}"
vnet_enabled="${option_vnet:-${VNET_ENABLED:-false}}"

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
# Every azd variable of bicep/main.parameters.json, as azd passes it (the values settled above win).
export AZURE_ENV_NAME="$env_name" AZURE_LOCATION="$location" MAIL_DOMAIN="$mail_domain" VNET_ENABLED="$vnet_enabled"
export AZURE_PRINCIPAL_ID="${principal_id:-${AZURE_PRINCIPAL_ID:-}}" AZURE_PRINCIPAL_TYPE="$principal_type"
parameters=("resourceGroupName=$resource_group")
while IFS=$'\t' read -r name variable default; do
  value="${!variable:-$default}"
  # Empty: the template's own default applies (every mapped parameter but the two required ones has one).
  if [ -n "$value" ]; then
    parameters+=("$name=$value")
  fi
done < <(sed -n 's/^ *"\([A-Za-z0-9_]*\)": *{ *"value": *"\${\([A-Za-z0-9_]*\)\(=\([^}]*\)\)\{0,1\}}" *}.*$/\1\t\2\t\4/p' \
  "$root/bicep/main.parameters.json")

deployment="mtafunctions-$env_name"
echo "Deploying bicep/main.bicep as subscription deployment '$deployment' ..."
if ! az deployment sub create \
  --name "$deployment" \
  --location "$location" \
  --template-file "$root/bicep/main.bicep" \
  --parameters "${parameters[@]}" ${extra_parameters[@]+"${extra_parameters[@]}"} \
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
# The same step as azd's postprovision hook (infra/common.sh).
if ! store_dkim_keys "$key_vault" "$(output DKIM_KEYS)" "$work"; then
  echo "deploy.sh: the DKIM keys were not stored" >&2
  exit 1
fi

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

if [ "$skip_build" = true ] && [ "$dkim_created" -gt 0 ]; then
  # The app resolves its Key Vault references when it starts: a restart picks up the new keys.
  echo "Restarting $app_name so that it reads the new DKIM keys ..."
  az functionapp restart --resource-group "$resource_group" --name "$app_name" --output none
fi

# ---- 6. What the operator publishes ----
echo
echo "Deployed. Function App: $app_name (resource group $resource_group)"
print_dns_records "$mail_domain" "$mta_hostname" "$endpoint" "$egress_ip" "$egress_ip_name" "$resource_group"
cat <<EOF

Outbound port 25: Azure blocks TCP 25 to the internet for most subscription types (only Enterprise
Agreement and MCA-E subscriptions may send directly). See README "Deploy" before sending mail.
EOF
