using Idempotency.LoadTest.App;
using Idempotency.LoadTest.Runner;

// One program, two roles: `serve` is the bench app (one process per mode), `run` is the runner that starts the apps,
// redis-server, PostgreSQL and wrk, measures, stops them and writes the results.
return args.FirstOrDefault() switch
{
    "serve" => await BenchServer.RunAsync(args[1..]),
    "run" => await BenchRunner.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: Idempotency.LoadTest serve --mode none|passthrough|memory|redis|redis-protected|outputcache|db-sqlite|efcore-sqlite|db-postgres|efcore-postgres
                                          --port N [--redis host:port] [--database connection-string]
               Idempotency.LoadTest run [--duration 1.5] [--warmup 0.5] [--rounds 3] [--threads 1] [--connections 32]
                                        [--rate 1000] [--latency-duration 2] [--skip-latency] [--sizes 100,4096,65536]
                                        [--headline-size 4096] [--full] [--only prefix,prefix] [--out bench/results]
                                        [--label text] [--keep]
                                        [--work-dir dir] [--max-minutes 10]
        bench/run.sh builds and runs `run`; see bench/README.md.
        """);
    return 2;
}
