#!/usr/bin/env bash
# Runs every test: installs what the tests need when missing (Azurite from npm), then the xunit suite.
# Servers the tests use (Azurite, DNS, SMTP, HTTPS, Unbound/NSD, Postfix) are started by the tests themselves.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
[ -x node_modules/.bin/azurite ] || npm install --no-audit --no-fund
dotnet test --project tests/MtaFunctions.Tests "$@"
