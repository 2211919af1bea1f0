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

ensure_postgres() {
  # PostgreSQL tests start their own server from the machine's binaries when no Docker daemon is reachable (as root,
  # as the postgres user); install them when they are missing.
  if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    return
  fi
  echo "PostgreSQL's initdb not found; installing it from Debian's packages"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql-common >/dev/null
  # The package's own cluster and its service are never used (the tests create theirs on a free port): none is made.
  echo "create_main_cluster = false" | $sudo tee -a /etc/postgresql-common/createcluster.conf >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
}

run_tests() {
  ensure_redis
  ensure_postgres
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

run_chaos() {
  # The reliability harness at full size (docs/reliability.md): only that project, its scenarios one after another,
  # then the table of figures, also written to tests/Idempotency.Chaos/results/latest.md.
  ensure_redis
  ensure_postgres
  local results="$PWD/tests/Idempotency.Chaos/results"
  local rows="$results/rows"
  rm -rf "$rows"
  mkdir -p "$rows"
  local status=0
  IDEMPOTENCY_CHAOS=full IDEMPOTENCY_CHAOS_RESULTS="$rows" \
    dotnet test tests/Idempotency.Chaos/Idempotency.Chaos.csproj -c Release --logger "console;verbosity=normal" "$@" || status=$?
  {
    echo "Chaos run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(redis-server --version | cut -d' ' -f1-3)"
    echo
    cat "$rows/header" "$rows"/*.row 2>/dev/null || true
    echo
    echo "Caps on allowed re-executions:"
    echo
    cat "$rows"/*.bounds 2>/dev/null || true
  } > "$results/latest.md"
  rm -rf "$rows"
  echo
  cat "$results/latest.md"
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
  chaos)
    shift
    run_chaos "$@"
    ;;
  pack)
    for package in Idempotency Idempotency.Redis Idempotency.EntityFrameworkCore Idempotency.OpenApi Idempotency.Client Idempotency.Testing; do
      dotnet pack "src/$package/$package.csproj" -c Release -o artifacts/packages
    done
    ;;
  public-api)
    # Regenerates PublicAPI.Unshipped.txt of the packages after an intentional API change: see eng/public-api.sh.
    shift
    eng/public-api.sh "$@"
    ;;
  pack-check)
    # Packs, installs the packages into a fresh project from a local folder feed and runs it: see eng/pack-check.sh.
    ensure_redis
    eng/pack-check.sh
    ;;
  *)
    echo "usage: ./build.sh [build|test|chaos|pack|pack-check|public-api]" >&2
    exit 2
    ;;
esac
