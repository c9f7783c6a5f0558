#!/usr/bin/env bash
# End-to-end ingest benchmark (docs/benchmarks.md). Options go to the benchmark, e.g.
#   bench/run.sh --messages 500000
#   bench/run.sh --consumer-config fetch.queue.backoff.ms=10
# The output is also kept in bench/results/<UTC time>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pg_ctl >/dev/null && ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
  echo "PostgreSQL server binaries not found: install Debian package postgresql-15" >&2
  exit 1
fi

mkdir -p bench/results
log="bench/results/$(date -u +%Y%m%dT%H%M%SZ).log"
dotnet build bench/MaestroSla.Bench -c Release -nologo -v quiet
dotnet run -c Release --no-build --project bench/MaestroSla.Bench -- "$@" 2>&1 | tee "$log"
echo "log: $log"
