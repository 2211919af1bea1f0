using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Running;
using Idempotency.Benchmarks;
using Idempotency.Benchmarks.Infrastructure;

// Examples (from the repository root):
//   dotnet run -c Release --project bench/Idempotency.Benchmarks -- --filter '*'            all, default job
//   dotnet run -c Release --project bench/Idempotency.Benchmarks -- --filter '*Pipeline*' --job short
//   ... -- --filter '*Fingerprint*' --profiler EP                                         CPU samples (speedscope)
// Redis benchmarks start their own redis-server (Debian's redis-server package) on a free loopback port, or use
// IDEMPOTENCY_BENCH_REDIS=host:port; without either they are left out, and bench/run.sh's load test covers Redis.
//   ... -- --filter '*' --inProcess                                                       no per-benchmark build: quick
var config = DefaultConfig.Instance
    .AddDiagnoser(MemoryDiagnoser.Default)
    .WithOptions(ConfigOptions.JoinSummary | ConfigOptions.DisableLogFile)

    // BenchmarkDotNet builds a project per job; two minutes (its default) is not enough on a busy two-core machine.
    .WithBuildTimeout(TimeSpan.FromMinutes(10))

    // Next to the project (bin/Release/net10.0 is three levels down), where .gitignore expects the artifacts.
    .WithArtifactsPath(Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "BenchmarkDotNet.Artifacts")));

var types = typeof(KeyParsingBenchmarks).Assembly.GetTypes()
    .Where(type => type.IsPublic && !type.IsAbstract && type.Name.EndsWith("Benchmarks", StringComparison.Ordinal))
    .ToList();
if (!LocalRedis.IsAvailable(out var why))
{
    Console.WriteLine($"Redis benchmarks skipped: {why}");
    types.Remove(typeof(RedisStoreBenchmarks));
}

BenchmarkSwitcher.FromTypes([.. types]).Run(args, config);
