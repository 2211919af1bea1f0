#!/usr/bin/env bash
# Regenerates PublicAPI.Unshipped.txt of every packable project under src/ from its code, then builds each of them
# to prove the baselines are complete (docs/public-api.md). Run it after an intentional public API change:
#   ./build.sh public-api            every packable project under src/
#   ./build.sh public-api Idempotency.Redis   one project (by folder name)
# The analyzer's own code fix writes the entries (dotnet format), so they are spelled exactly as the build checks them.
# PublicAPI.Shipped.txt is never rewritten: it changes only when a version ships (move the Unshipped lines into it).
set -euo pipefail
cd "$(dirname "$0")/.."

# RS0016: not declared; RS0017: declared but gone; RS0036/RS0037: nullability of a declared entry.
diagnostics=(RS0016 RS0017 RS0036 RS0037)

projects=()
if [ "$#" -gt 0 ]; then
  for name in "$@"; do projects+=("src/$name/$name.csproj"); done
else
  for project in src/*/*.csproj; do
    if [ "$(dotnet msbuild "$project" -getProperty:IsPackable -p:TargetFramework=net10.0)" = "true" ]; then
      projects+=("$project")
    fi
  done
fi

for project in "${projects[@]}"; do
  dir=$(dirname "$project")
  echo "== $project"
  # A new package starts with empty baselines.
  [ -f "$dir/PublicAPI.Shipped.txt" ] || printf '#nullable enable\n' > "$dir/PublicAPI.Shipped.txt"
  # Start Unshipped over so removed members disappear with their lines; only the *REMOVED* lines (removals of shipped
  # API, written by hand, see docs/public-api.md) are kept.
  removed=$( { grep '^\*REMOVED\*' "$dir/PublicAPI.Unshipped.txt" 2>/dev/null || true; } )
  { echo '#nullable enable'; [ -z "$removed" ] || echo "$removed"; } > "$dir/PublicAPI.Unshipped.txt"
  dotnet format analyzers "$project" --diagnostics "${diagnostics[@]}" --severity warn
done

# The proof: every target framework of every project builds with the analyzer's warnings as errors.
for project in "${projects[@]}"; do
  dotnet build "$project" -c Release
done
git --no-pager diff --stat -- 'src/*/PublicAPI.*.txt' || true
