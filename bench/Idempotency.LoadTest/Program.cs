using Idempotency.LoadTest.App;
using Idempotency.LoadTest.Runner;
using Idempotency.LoadTest.Runner.Scale;

// One program, three roles: `serve` is the bench app (one process hosts several modes, each on a port of its own), `run`
// is the runner that starts the apps,
// redis-server, PostgreSQL and wrk, measures, stops them and writes the results; `scale` fills the stores and measures
// what they cost as records grow.
return args.FirstOrDefault() switch
{
    "serve" => await BenchServer.RunAsync(args[1..]),
    "run" => await BenchRunner.RunAsync(args[1..]),
    "scale" => await ScaleRunner.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: Idempotency.LoadTest serve --hosts mode=port[,mode=port...] [--redis host:port] [--database-{mode} connection-string]
                                          [--parent-pid N] [--max-seconds 900] [--memory-limit-bytes N] [--memory-evict true]
                 modes: none|passthrough|memory|redis|redis-protected|redis-local|outputcache|db-sqlite|efcore-sqlite|db-postgres|efcore-postgres
               Idempotency.LoadTest run [--duration 3] [--warmup 1] [--rounds 5] [--quick] [--threads 1] [--connections 32]
                                        [--rate 1000] [--latency-duration 2] [--skip-latency] [--sizes 100,4096,65536]
                                        [--headline-size 4096] [--full] [--only prefix,prefix] [--out bench/results]
                                        [--label text] [--keep]
                                        [--work-dir dir] [--max-minutes 20]
               Idempotency.LoadTest scale [--records 1000000] [--memory-limit-mb 256] [--measure-seconds 3] [--window-seconds 15]
                                          [--handler trivial|realistic] [--size 4096] [--connections 32]
                                          [--replay-keys 256] [--memory-usage-samples 64] [--redis true] [--memory true]
                                          [--memory-evict true] [--out bench/results] [--label text] [--keep] [--work-dir dir]
                                          [--max-minutes 20]
        bench/run.sh builds and runs `run` (`bench/run.sh scale`: `scale`); see bench/README.md.
        """);
    return 2;
}
