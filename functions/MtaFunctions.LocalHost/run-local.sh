#!/usr/bin/env bash
# Runs MtaFunctions locally on Azurite, with smtp4dev (a catch-all SMTP server with a web UI) as the relay the
# example settings send every message to (Queue__Outbound__Relay__Host=127.0.0.1:2525): `func start` where Azure
# Functions Core Tools are installed, MtaFunctions.LocalHost (the same handlers on the WebJobs SDK) otherwise.
# Ports and places can be moved with environment variables (the demo test runs it on free ports):
#   AZURITE_BLOB_PORT, AZURITE_QUEUE_PORT, AZURITE_TABLE_PORT (10000, 10001, 10002), AZURITE_LOCATION (.azurite),
#   SMTP4DEV_SMTP_PORT (2525), SMTP4DEV_WEB_PORT (5000), MTA_LOCALHOST=1 (LocalHost even where func is installed).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

blob_port="${AZURITE_BLOB_PORT:-10000}"
queue_port="${AZURITE_QUEUE_PORT:-10001}"
table_port="${AZURITE_TABLE_PORT:-10002}"
location="${AZURITE_LOCATION:-$root/.azurite}"
smtp_port="${SMTP4DEV_SMTP_PORT:-2525}"
web_port="${SMTP4DEV_WEB_PORT:-5000}"

[ -x node_modules/.bin/azurite ] || npm install --no-audit --no-fund
settings="functions/MtaFunctions/local.settings.json"
[ -f "$settings" ] || { cp local.settings.json.example "$settings"; echo "created $settings from local.settings.json.example"; }
# smtp4dev, pinned in .config/dotnet-tools.json.
dotnet tool restore >/dev/null

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

mkdir -p "$location"
node_modules/.bin/azurite --silent --location "$location" --skipApiVersionCheck --disableTelemetry \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
  --blobPort "$blob_port" --queuePort "$queue_port" --tablePort "$table_port" &
pids+=($!)
dotnet tool run smtp4dev --smtpport="$smtp_port" --urls="http://127.0.0.1:$web_port" --db= --imapport= --pop3port= \
  --allowremoteconnections- --hostname=localhost --baseappdatapath="$location/smtp4dev" >"$location/smtp4dev.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$queue_port") 2>/dev/null && break; sleep 0.2; done

if [ "$blob_port$queue_port$table_port" != "100001000110002" ]; then
  account="AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
  export AzureWebJobsStorage="DefaultEndpointsProtocol=http;$account;BlobEndpoint=http://127.0.0.1:$blob_port/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue_port/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table_port/devstoreaccount1;"
fi
if [ "$smtp_port" != "2525" ]; then
  export Queue__Outbound__Relay__Host="127.0.0.1:$smtp_port"
fi
echo "smtp4dev: mail relayed to 127.0.0.1:$smtp_port shows at http://127.0.0.1:$web_port (log: $location/smtp4dev.log)"

if command -v func >/dev/null 2>&1 && [ -z "${MTA_LOCALHOST:-}" ]; then
  cd functions/MtaFunctions && func start
else
  echo "running MtaFunctions.LocalHost"
  dotnet build -c Release -v q functions/MtaFunctions.LocalHost
  cd functions/MtaFunctions && dotnet ../MtaFunctions.LocalHost/bin/Release/net10.0/MtaFunctions.LocalHost.dll
fi
