#!/usr/bin/env bash
# One entry point for building, testing and packing. `./build.sh test` is the command CI runs.
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

ensure_redis() {
  # Redis tests start their own redis-server processes (no Docker needed); install the binary when it is missing.
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return
  fi
  echo "redis-server not found; installing it from Debian's packages"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
}

run_tests() {
  ensure_redis
  local log
  log=$(mktemp)
  local status=0
  dotnet test Idempotency.sln -c Release --logger "console;verbosity=minimal" "$@" 2>&1 | tee "$log" || status=$?
  # One closing line for the whole run, summed over the test projects.
  awk '
    /(Passed|Failed)!.*Total:/ {
      for (i = 1; i <= NF; i++) {
        if ($i == "Failed:") { gsub(",", "", $(i+1)); failed += $(i+1) }
        if ($i == "Passed:") { gsub(",", "", $(i+1)); passed += $(i+1) }
        if ($i == "Skipped:") { gsub(",", "", $(i+1)); skipped += $(i+1) }
      }
    }
    END { printf "\nTests: %d passed, %d failed, %d skipped\n", passed, failed, skipped }
  ' "$log"
  rm -f "$log"
  return $status
}

case "${1:-build}" in
  build)
    dotnet build Idempotency.sln -c Release
    ;;
  test)
    shift
    run_tests "$@"
    ;;
  pack)
    for package in Idempotency Idempotency.Redis Idempotency.OpenApi Idempotency.Client; do
      dotnet pack "src/$package/$package.csproj" -c Release -o artifacts/packages
    done
    ;;
  *)
    echo "usage: ./build.sh [build|test|pack]" >&2
    exit 2
    ;;
esac
