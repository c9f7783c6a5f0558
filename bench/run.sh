#!/usr/bin/env bash
# Every benchmark of docs/benchmarks.md in one run (about 10 minutes here):
#   1. bench/MaestroSla.Bench — end-to-end ingest (10 M requests through Kafka into durable PostgreSQL) against the
#      naive design, drain, stage costs, then a month of 20 services (100 M requests): projection, SLA report
#      latency, full backup, restore;
#   2. bench/MaestroSla.MicroBench — percentile accuracy against the exact sorted values, then BenchmarkDotNet
#      micro-benchmarks of the hot paths.
# Options go to the first, e.g.
#   bench/run.sh --messages 500000 --month-requests 5000000     # quick shake-out
#   bench/run.sh --help                                          # every option
# MICRO=0 bench/run.sh skips the micro-benchmarks. The output is also kept in bench/results/<UTC time>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pg_ctl >/dev/null && ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
  echo "PostgreSQL server binaries not found: install Debian package postgresql-15" >&2
  exit 1
fi

mkdir -p bench/results
log="bench/results/$(date -u +%Y%m%dT%H%M%SZ).log"
started=$SECONDS
dotnet build bench/MaestroSla.Bench -c Release -nologo -v quiet
dotnet build bench/MaestroSla.MicroBench -c Release -nologo -v quiet
status=0
dotnet run -c Release --no-build --project bench/MaestroSla.Bench -- "$@" 2>&1 | tee "$log" || status=$?
if [[ "${MICRO:-1}" != 0 ]]; then
  dotnet run -c Release --no-build --project bench/MaestroSla.MicroBench 2>&1 | tee -a "$log" || status=$?
fi
echo "bench/run.sh took $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s; log: $log" | tee -a "$log"
exit $status
