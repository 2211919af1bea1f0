#!/usr/bin/env bash
# The load test in one command: builds the bench app in Release, then starts redis-server, a PostgreSQL server and the
# bench app processes (each serves a baseline and its candidates, every mode on its own port) on 127.0.0.1, measures
# every scenario with wrk (and latency at a fixed rate with its own .NET client), stops everything it started, and
# writes bench/results/latest.json and latest.md. The default run takes about ten minutes on two cores after the
# build; options after the command go to the runner (`bench/run.sh --help` lists them), e.g.
#   bench/run.sh --quick --out /tmp/bench             # a short run for development
#   bench/run.sh --full                               # a thorough run
#   bench/run.sh micro --filter '*Fingerprint*'        # BenchmarkDotNet micro-benchmarks instead
#   bench/run.sh scale                                # the scale run: stores filled to 1,000,000 records (bench/README.md)
#   bench/run.sh scale --records 50000 --out /tmp/scale   # the same scaled down, for development
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

install_package() {
  # $1 = what is missing, $2 = Debian package. Installed from Debian's packages, as ./build.sh does for Redis.
  echo "$1 not found; installing $2 from Debian's packages"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$2" >/dev/null
}

ensure_package() {
  # $1 = command, $2 = Debian package: installed when the command is missing.
  if ! command -v "$1" >/dev/null 2>&1; then
    install_package "$1" "$2"
  fi
}

if [ "${1:-}" = "micro" ]; then
  shift
  exec dotnet run -c Release --project bench/Idempotency.Benchmarks -- "$@"
fi

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  dotnet build bench/Idempotency.LoadTest -c Release -v quiet -nologo >/dev/null
  dotnet bench/Idempotency.LoadTest/bin/Release/net10.0/Idempotency.LoadTest.dll || true
  exit 0
fi

role=run
if [ "${1:-}" = "scale" ]; then
  # Redis and the in-memory store only: no PostgreSQL.
  role=scale
  shift
fi

ensure_package wrk wrk
ensure_package redis-server redis-server
# PostgreSQL's server binaries are not on PATH in Debian's package: the runner looks in /usr/lib/postgresql/<version>/bin.
if [ "$role" = run ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  install_package "PostgreSQL's initdb" postgresql
fi

build_started=$(date +%s)
dotnet build bench/Idempotency.LoadTest -c Release -v quiet -nologo
echo "build took $(( $(date +%s) - build_started )) s (not part of the run's time)"

work_dir=$(mktemp -d "${TMPDIR:-/tmp}/idempotency-bench-XXXXXXXX")
cleanup() {
  # The runner stops what it started; this covers a runner that was itself killed. Only PIDs the runner recorded are
  # signalled, and only while they still run a command of this run (their command line names the work dir, the bench
  # app or wrk): a recycled PID is left alone.
  if [ -f "$work_dir/pids" ]; then
    while read -r pid; do
      [ -n "$pid" ] || continue
      if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -e "$work_dir" -e Idempotency.LoadTest -e '^wrk '; then
        kill "$pid" 2>/dev/null || true
      fi
    done <"$work_dir/pids"
  fi
  rm -rf "$work_dir"
}
trap cleanup EXIT

run_started=$(date +%s)
if [ "$role" = scale ]; then
  export BENCH_COMMAND="bench/run.sh scale${*:+ $*}"
else
  export BENCH_COMMAND="bench/run.sh${*:+ $*}"
fi
dotnet bench/Idempotency.LoadTest/bin/Release/net10.0/Idempotency.LoadTest.dll "$role" \
  --out bench/results --work-dir "$work_dir" --label "${BENCH_LABEL:-}" "$@"
echo "run took $(( $(date +%s) - run_started )) s (builds excluded)"
