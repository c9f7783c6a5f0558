#!/usr/bin/env bash
# Every benchmark of docs/benchmarks.md in one run (about 10 minutes for the first part, 60-90 more for the rest):
#   1. bench/MaestroSla.Bench — end-to-end ingest (10 M requests through Kafka into durable PostgreSQL) against the
#      naive design, drain, stage costs, then a month of 20 services (100 M requests): projection, SLA report
#      latency, full backup, restore; then, with the service itself (src/Api) as child processes: live steady load
#      at 10 to 50,000 series (rates stepped up until one is not sustained), two and three ingest instances in one
#      consumer group with one SIGKILLed, HTTP ingest under wrk, and OTLP protobuf exports through Kafka (spans/s at
#      1,000 series, as the OpenTelemetry Collector's Kafka exporter writes them);
#   2. bench/MaestroSla.MicroBench — percentile accuracy against the exact sorted values, then BenchmarkDotNet
#      micro-benchmarks of the hot paths.
# Options go to the first, e.g.
#   bench/run.sh --messages 500000 --month-requests 5000000     # quick shake-out
#   bench/run.sh --phases live --live-series 10000 --live-rates 50000,100000,200000 --live-seconds 120
#   bench/run.sh --phases http,instances --http-seconds 10      # HTTP table and multi-instance figures only
#   bench/run.sh --phases otlp --otlp-spans 5000000              # OTLP from Kafka: spans/s end to end
#   bench/run.sh --help                                          # every option
# MICRO=0 bench/run.sh skips the micro-benchmarks. The output is also kept in bench/results/<UTC time>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pg_ctl >/dev/null && ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
  echo "PostgreSQL server binaries not found: install Debian package postgresql-15" >&2
  exit 1
fi

# wrk drives the HTTP phase (Debian package wrk); installed when missing, as test.sh installs what the tests need.
if ! command -v wrk >/dev/null; then
  if [[ $(id -u) != 0 ]]; then
    echo "wrk not found: install Debian package wrk (the HTTP phase needs it)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends wrk
fi

mkdir -p bench/results
log="bench/results/$(date -u +%Y%m%dT%H%M%SZ).log"
started=$SECONDS
# Also builds src/Api (referenced), whose Release output the live, instances and HTTP phases start as processes.
dotnet build bench/MaestroSla.Bench -c Release -nologo -v quiet
dotnet build bench/MaestroSla.MicroBench -c Release -nologo -v quiet
status=0
dotnet run -c Release --no-build --project bench/MaestroSla.Bench -- "$@" 2>&1 | tee "$log" || status=$?
if [[ "${MICRO:-1}" != 0 ]]; then
  dotnet run -c Release --no-build --project bench/MaestroSla.MicroBench 2>&1 | tee -a "$log" || status=$?
fi
echo "bench/run.sh took $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s; log: $log" | tee -a "$log"
exit $status
