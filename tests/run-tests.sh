#!/usr/bin/env bash
# Runs every test. Installs what the tests need when it is missing: the Debian packages of
# tests/apt-packages.txt (real DNSSEC, browser and shell peers; via sudo when not root) and Azurite from npm.
# Servers the tests use (Azurite, DNS, SMTP, HTTPS, Unbound/NSD, Chromium) are started by the tests themselves.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

missing=$(grep -v '^#' tests/apt-packages.txt | while read -r p; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done | xargs)
if [ -n "$missing" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages the tests use: $missing"
  $sudo apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

[ -x node_modules/.bin/azurite ] || npm install --no-audit --no-fund
dotnet test --project tests/MtaFunctions.Tests "$@"
