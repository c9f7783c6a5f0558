#!/usr/bin/env bash
# Runs every test, installing first what they need (idempotent): Debian packages (as root) and npm packages.
# README command (b), and what CI runs (.ci/run) on a fresh Debian 12 machine with the .NET SDK.
# `./test.sh --unit` runs only the pure tests ([Trait("Category", "Unit")]: no PostgreSQL, Kafka, browser or npm
# package) and installs nothing.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

unit=false
case "${1:-}" in
  "") ;;
  --unit) unit=true ;;
  *) echo "usage: $0 [--unit]" >&2; exit 2 ;;
esac

if ! $unit; then

# --- Debian packages -------------------------------------------------------------------------------
# Tests start their own PostgreSQL from the postgresql-15 binaries (EmbeddedPostgres); the distro's
# service is neither needed nor wanted, so package scripts are told not to start services.
missing=()
dpkg -s postgresql-15 >/dev/null 2>&1 || missing+=(postgresql-15)
command -v kcat >/dev/null || missing+=(kcat)
command -v promtool >/dev/null || missing+=(prometheus)
# The dashboard's browser test drives Debian's Chromium through playwright-core (no browser download).
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || missing+=(fonts-dejavu-core)
command -v node >/dev/null || missing+=(nodejs npm)
# The README's examples, run by ExecutableDocsTests, use curl, jq and openssl.
for tool in curl jq openssl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- npm packages ----------------------------------------------------------------------------------
# tests/browser: playwright-core for the browser test, and the uplot package whose dist files
# src/Api/wwwroot/lib/uplot vendors (DashboardAssetTests checks they are the same bytes). Versions: its lockfile.
npm ci --prefix tests/browser --no-audit --no-fund
# tests/otel-js: the OpenTelemetry JS SDK and its OTLP/HTTP exporter, run by node in OpenTelemetryJsSdkTests. Versions: its lockfile.
npm ci --prefix tests/otel-js --no-audit --no-fund
# .ci/s3rver: s3rver, the S3-protocol server the backup tests start on loopback. Version: its lockfile.
npm ci --prefix .ci/s3rver --no-audit --no-fund
fi

# --- tests (the README's command) --------------------------------------------------------------------
mkdir -p TestResults
log=TestResults/ci-test.log
status=0
filter=()
if $unit; then filter=(--filter "Category=Unit"); fi
dotnet test MaestroSla.sln -c Release "${filter[@]}" 2>&1 | tee "$log" || status=$?

# dotnet test prints one "Passed!/Failed!  - Failed: F, Passed: P, Skipped: S, Total: T" line per project.
read -r passed failed skipped < <(awk '/(Passed|Failed)! +- Failed:/ {
    gsub(/,/, "")
    for (i = 1; i < NF; i++) {
      if ($i == "Passed:") p += $(i + 1)
      if ($i == "Failed:") f += $(i + 1)
      if ($i == "Skipped:") s += $(i + 1)
    }
  } END { print p + 0, f + 0, s + 0 }' "$log")
echo "$passed passed, $failed failed, $skipped skipped"

if ((status != 0)); then
  echo "dotnet test exited with $status" >&2
  exit "$status"
fi
if ((passed + failed == 0)); then
  echo "no tests ran" >&2
  exit 1
fi
