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
var config = DefaultConfig.Instance
    .AddDiagnoser(MemoryDiagnoser.Default)
    .WithOptions(ConfigOptions.JoinSummary | ConfigOptions.DisableLogFile);

var types = typeof(KeyParsingBenchmarks).Assembly.GetTypes()
    .Where(type => type.IsPublic && !type.IsAbstract && type.Name.EndsWith("Benchmarks", StringComparison.Ordinal))
    .ToList();
if (!LocalRedis.IsAvailable(out var why))
{
    Console.WriteLine($"Redis benchmarks skipped: {why}");
    types.Remove(typeof(RedisStoreBenchmarks));
}

BenchmarkSwitcher.FromTypes([.. types]).Run(args, config);
