#!/usr/bin/env bash
# Runs MtaFunctions locally on Azurite: `func start` where Azure Functions Core Tools are installed,
# MtaFunctions.LocalHost (the same handlers on the WebJobs SDK) otherwise.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

[ -x node_modules/.bin/azurite ] || npm install --no-audit --no-fund
settings="functions/MtaFunctions/local.settings.json"
[ -f "$settings" ] || { cp local.settings.json.example "$settings"; echo "created $settings from local.settings.json.example"; }

mkdir -p .azurite
node_modules/.bin/azurite --silent --location .azurite --skipApiVersionCheck --disableTelemetry \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 &
azurite=$!
trap 'kill $azurite 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/10001) 2>/dev/null && break; sleep 0.2; done

if command -v func >/dev/null 2>&1; then
  cd functions/MtaFunctions && func start
else
  echo "Azure Functions Core Tools not found: running MtaFunctions.LocalHost"
  dotnet build -c Release -v q functions/MtaFunctions.LocalHost
  cd functions/MtaFunctions && dotnet ../MtaFunctions.LocalHost/bin/Release/net10.0/MtaFunctions.LocalHost.dll
fi
