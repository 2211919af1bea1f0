#!/usr/bin/env bash
# Proves that the packages work as a user gets them: packs the five library packages into a local folder feed, creates a fresh
# `dotnet new web` project outside the repository that installs them from that feed (and everything else from the
# configured upstream NuGet source), builds it for net8.0 and net10.0, runs it on 127.0.0.1, and checks that a retry
# with the same Idempotency-Key is replayed and the handler ran once: on the in-memory store, then on a local
# redis-server through Idempotency.Redis, plus one request through Idempotency.Client's handler.
#
# Usage: eng/pack-check.sh   (or ./build.sh pack-check). Takes 2 to 8 minutes on a 2-core machine (most of it
# packing and the Native AOT publish): too slow for ./build.sh test, whose quick counterpart is tests/Idempotency.Packaging.Tests.
# Every process it starts is stopped by PID; the temporary folder and the packages it put in the global packages
# folder are removed on exit.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
started=$SECONDS

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# A version no earlier run used, so a package left in the global packages folder can never make this pass.
version="0.0.0-local.$(date -u +%Y%m%d%H%M%S).$$"
work="$(mktemp -d "${TMPDIR:-/tmp}/idempotency-pack-check.XXXXXX")"
feed="$work/feed"
app="$work/PackCheckApp"
packages_folder="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')"
app_pid=""
redis_pid=""

cleanup() {
  local status=$?
  if [ -n "$app_pid" ]; then kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; fi
  if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  for id in idempotency idempotency.redis idempotency.openapi idempotency.client; do
    rm -rf "${packages_folder:?}/$id/$version"
    rmdir "$packages_folder/$id" 2>/dev/null || true   # only when no other version is there
  done
  if [ $status -ne 0 ] && [ -f "$work/app.log" ]; then
    echo "--- application log ---" >&2
    tail -n 40 "$work/app.log" >&2
  fi
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT

fail() {
  echo "pack-check: FAILED: $*" >&2
  exit 1
}

step() {
  printf '[%3ds] %s\n' $((SECONDS - started)) "$*"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

step "packing version $version into $feed"
# CI=true: packed as CI would (ContinuousIntegrationBuild, deterministic source paths). The build output goes to the
# temporary folder, so the working tree's bin/ and obj/ stay as they are.
for package in Idempotency Idempotency.Redis Idempotency.EntityFrameworkCore Idempotency.OpenApi Idempotency.Client; do
  CI=true dotnet pack "$repo/src/$package/$package.csproj" -c Release -o "$feed" \
    -p:Version="$version" -p:UseArtifactsOutput=true -p:ArtifactsPath="$work/build/" \
    -v:quiet -nologo >"$work/pack.log" 2>&1 || { cat "$work/pack.log" >&2; fail "dotnet pack $package"; }
done
for package in Idempotency Idempotency.Redis Idempotency.EntityFrameworkCore Idempotency.OpenApi Idempotency.Client; do
  [ -f "$feed/$package.$version.nupkg" ] || fail "$package.$version.nupkg was not produced"
  [ -f "$feed/$package.$version.snupkg" ] || fail "$package.$version.snupkg was not produced"
done

step "creating a fresh web project in $app"
dotnet new web -o "$app" -n PackCheckApp --no-restore >/dev/null
# Only this feed for our packages, the upstream sources the machine is configured with for everything else.
upstream_sources=""
upstream_mapping=""
count=0
while read -r flag url; do
  if [ "$flag" = E ]; then
    count=$((count + 1))
    upstream_sources+="    <add key=\"upstream$count\" value=\"$url\" />"$'\n'
    upstream_mapping+="    <packageSource key=\"upstream$count\"><package pattern=\"*\" /></packageSource>"$'\n'
  fi
done < <(cd "$repo" && dotnet nuget list source --format short)
[ $count -gt 0 ] || fail "no enabled NuGet source is configured"
cat >"$app/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
$upstream_sources  </packageSources>
  <packageSourceMapping>
    <packageSource key="local">
      <package pattern="Idempotency" />
      <package pattern="Idempotency.*" />
    </packageSource>
$upstream_mapping  </packageSourceMapping>
</configuration>
EOF
# Both target frameworks of the packages: net8.0 is built (its lib/net8.0 assets must resolve), net10.0 is run.
sed -i 's|<TargetFramework>net10.0</TargetFramework>|<TargetFrameworks>net8.0;net10.0</TargetFrameworks>|' "$app/PackCheckApp.csproj"
grep -q '<TargetFrameworks>net8.0;net10.0</TargetFrameworks>' "$app/PackCheckApp.csproj" || fail "unexpected template: $(cat "$app/PackCheckApp.csproj")"
for package in Idempotency Idempotency.Redis Idempotency.Client; do
  (cd "$app" && dotnet add package "$package" --version "$version" --no-restore >/dev/null)
done

# Written for Native AOT as well (source-generated JSON, no anonymous types), since the same app is published with
# PublishAot below: any trimming or AOT warning then comes from the packages.
cat >"$app/Program.cs" <<'EOF'
using System.Text.Json.Serialization;
using Idempotency;
using Microsoft.AspNetCore.DataProtection;

var builder = WebApplication.CreateBuilder(args);
builder.Services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, AppJson.Default));

var idempotency = builder.Services.AddIdempotency(options =>
{
    options.AddPolicy("orders", policy =>
    {
        policy.KeyRequirement = KeyRequirement.Required;
        policy.Retention = TimeSpan.FromMinutes(5);
    });
});
if (builder.Configuration.GetConnectionString("Redis") is { Length: > 0 } redis)
{
    idempotency.AddRedisStore(options => options.Configuration = redis);
}

// Stored responses protected at rest (the Redis store writes them protected) and the admin endpoints, so their code
// is in the published app and its trimming and AOT analysis. The operator policy is a header: a check, not security.
builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
idempotency.ProtectStoredResponses();
builder.Services.AddAuthorization(options => options.AddPolicy("operators", policy =>
    policy.RequireAssertion(context => context.Resource is HttpContext http && http.Request.Headers.ContainsKey("X-Pack-Check-Operator"))));

builder.Services.AddHttpClient("self").AddIdempotencyKeys();

var app = builder.Build();
app.UseIdempotency();

var executions = 0;
app.MapPost("/orders", (Order order) =>
{
    var id = Interlocked.Increment(ref executions);
    return Results.Created($"/orders/{id}", new OrderCreated(id, order.Item));
}).RequireIdempotency("orders");
app.MapGet("/executions", () => Volatile.Read(ref executions));
app.MapIdempotencyAdmin("/admin/idempotency", options => options.AuthorizationPolicy = "operators");

// One POST through Idempotency.Client's handler: it must arrive with a key it made up and be executed.
app.MapGet("/client-check", async (HttpContext context, IHttpClientFactory factory) =>
{
    var client = factory.CreateClient("self");
    client.BaseAddress = new Uri($"{context.Request.Scheme}://{context.Request.Host}");
    using var response = await client.PostAsJsonAsync("/orders", new Order("from-client"), AppJson.Default.Order);
    var sentKey = response.RequestMessage!.Headers.TryGetValues("Idempotency-Key", out var keys) ? string.Join(",", keys) : "";
    return Results.Text($"{(int)response.StatusCode} key={sentKey}");
});

app.Run();

internal sealed record Order(string Item);

internal sealed record OrderCreated(int Id, string Item);

[JsonSerializable(typeof(Order))]
[JsonSerializable(typeof(OrderCreated))]
[JsonSerializable(typeof(int))]
internal sealed partial class AppJson : JsonSerializerContext;
EOF

step "restoring and building the web project (net8.0 and net10.0) against the local feed"
(cd "$app" && dotnet build -c Release -nologo -v:quiet >"$work/build.log" 2>&1) || { cat "$work/build.log" >&2; fail "the fresh project does not build"; }
for package in idempotency idempotency.redis idempotency.client; do
  [ -d "$packages_folder/$package/$version" ] || fail "$package $version was not restored from the local feed"
done

# Runs the app, sends one POST twice with the same key, checks the replay and a single execution, stops the app.
check_app() {
  local label="$1"
  shift
  : >"$work/app.log"
  env "$@" "${app_command[@]}" --urls "http://127.0.0.1:0" >"$work/app.log" 2>&1 &
  app_pid=$!
  local url="" waited=0
  while [ -z "$url" ]; do
    kill -0 "$app_pid" 2>/dev/null || fail "$label: the application exited"
    url="$(grep -o 'Now listening on: http://127.0.0.1:[0-9]*' "$work/app.log" | head -n1 | sed 's/Now listening on: //')" || true
    [ -n "$url" ] && break
    [ $waited -lt 600 ] || fail "$label: the application did not start within 60 s"
    sleep 0.1
    waited=$((waited + 1))
  done

  local key="pack-check-$RANDOM-$RANDOM" first second
  first="$(curl -sS -i -X POST "$url/orders" -H "Idempotency-Key: \"$key\"" -H 'Content-Type: application/json' -d '{"item": "book"}')"
  second="$(curl -sS -i -X POST "$url/orders" -H "Idempotency-Key: \"$key\"" -H 'Content-Type: application/json' -d '{"item": "book"}')"
  grep -q '^HTTP/1.1 201' <<<"$first" || fail "$label: first POST was not 201: $first"
  grep -qi '^Idempotent-Replayed' <<<"$first" && fail "$label: first POST is marked as a replay"
  grep -q '^HTTP/1.1 201' <<<"$second" || fail "$label: retry was not 201: $second"
  grep -qi '^Idempotent-Replayed: true' <<<"$second" || fail "$label: retry lacks Idempotent-Replayed: true: $second"
  [ "$(tail -n1 <<<"$first")" = "$(tail -n1 <<<"$second")" ] || fail "$label: the replayed body differs"
  local missing
  missing="$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$url/orders" -H 'Content-Type: application/json' -d '{"item": "book"}')"
  [ "$missing" = 400 ] || fail "$label: a POST without a key got $missing, not 400"
  local executions
  executions="$(curl -sS "$url/executions")"
  [ "$executions" = 1 ] || fail "$label: the handler ran $executions times, not once"

  local admin
  admin="$(curl -sS -H 'X-Pack-Check-Operator: 1' "$url/admin/idempotency/records?scope=anonymous&key=$key")"
  grep -q '"state":"completed"' <<<"$admin" && grep -q '"statusCode":201' <<<"$admin" \
    || fail "$label: the admin endpoint did not show the completed record: $admin"

  local client
  client="$(curl -sS "$url/client-check")"
  [[ "$client" =~ ^201\ key=[0-9a-f]{32}$ ]] || fail "$label: the request through Idempotency.Client's handler: $client"

  kill "$app_pid"
  wait "$app_pid" 2>/dev/null || true
  app_pid=""
  step "$label: 201, then 201 with Idempotent-Replayed: true and the same body; handler ran once; no key: 400; admin: completed 201; client handler: $client"
}

app_command=(dotnet "$app/bin/Release/net10.0/PackCheckApp.dll")
step "running on the in-memory store"
check_app "in-memory store" ASPNETCORE_ENVIRONMENT=Production

command -v redis-server >/dev/null 2>&1 || fail "redis-server is not installed (./build.sh test installs it)"
redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 1 100); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$redis_port" ping >/dev/null 2>&1 || fail "redis-server did not start"

step "running on Redis (127.0.0.1:$redis_port) through Idempotency.Redis"
check_app "Redis store" ASPNETCORE_ENVIRONMENT=Production "ConnectionStrings__Redis=127.0.0.1:$redis_port"
records="$(redis-cli -p "$redis_port" --scan --pattern 'idempotency:*' | wc -l)"
[ "$records" -ge 1 ] || fail "Redis store: no record was written to Redis"

# Native AOT: the core, Redis and client packages are marked IsAotCompatible; publishing the same app with PublishAot
# must give no trimming or AOT warning, and the native executable must behave as the JIT-compiled one.
case "$(uname -m)" in
  x86_64) rid=linux-x64 ;;
  aarch64) rid=linux-arm64 ;;
  *) fail "no Native AOT runtime identifier for $(uname -m)" ;;
esac
# The ILCompiler links with clang by default; Debian's gcc, which this machine has, links as well.
linker=clang
command -v clang >/dev/null 2>&1 || linker=gcc
step "publishing the web project with Native AOT ($rid, linking with $linker)"
(cd "$app" && dotnet publish -c Release -f net10.0 -r "$rid" -p:PublishAot=true -p:CppCompilerAndLinker="$linker" \
  -o "$work/aot" -nologo >"$work/aot.log" 2>&1) || { cat "$work/aot.log" >&2; fail "the Native AOT publish failed"; }
if grep -E 'warning (IL|CS)[0-9]+' "$work/aot.log" >&2; then
  fail "the Native AOT publish gave the warnings above"
fi
[ -x "$work/aot/PackCheckApp" ] || fail "the Native AOT publish made no executable"
app_command=("$work/aot/PackCheckApp")
check_app "Native AOT, in-memory store" ASPNETCORE_ENVIRONMENT=Production
check_app "Native AOT, Redis store" ASPNETCORE_ENVIRONMENT=Production "ConnectionStrings__Redis=127.0.0.1:$redis_port"

step "pack-check passed in $((SECONDS - started)) s"
