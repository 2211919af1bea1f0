using Idempotency;
using Idempotency.CrashTest.App;
using Idempotency.Redis;
using Microsoft.EntityFrameworkCore;
using Npgsql;

// The crash harness starts several of these on one PostgreSQL and kills them at random (tests/Idempotency.Chaos,
// Crash/). Configuration: Store (redis or efcore), ConnectionStrings:Postgres, ConnectionStrings:Redis (redis only),
// and the Crash section (CrashOptions).
var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 64 * 1024);

var crash = builder.Configuration.GetSection("Crash").Get<CrashOptions>() ?? new CrashOptions();
var postgres = builder.Configuration.GetConnectionString("Postgres")
    ?? throw new InvalidOperationException("ConnectionStrings:Postgres is required: the orders table lives there.");

// Every session of this process names its instance and PID in pg_stat_activity, so that the harness can tell which
// process holds a lock (and whether that process is still alive) when a client gives up.
postgres = new NpgsqlConnectionStringBuilder(postgres) { ApplicationName = ApplicationNames.For(crash.Instance, Environment.ProcessId) }.ConnectionString;
builder.Services.Configure<CrashOptions>(builder.Configuration.GetSection("Crash"));
builder.Services.AddHostedService<ParentWatch>();
builder.Services.AddDbContext<CrashDbContext>(options => options.UseNpgsql(postgres));

var store = builder.Configuration["Store"];
var idempotency = builder.Services.AddIdempotency(options =>
{
    options.DefaultPolicy.Lease = TimeSpan.FromMilliseconds(crash.LeaseMilliseconds);
    options.DefaultPolicy.Transactional = store == StoreNames.EntityFrameworkCore;
});
switch (store)
{
    case StoreNames.Redis:
        var redis = builder.Configuration.GetConnectionString("Redis")
            ?? throw new InvalidOperationException("Store=redis needs ConnectionStrings:Redis.");
        idempotency.AddRedisStore(options => options.Configuration = redis);
        break;
    case StoreNames.EntityFrameworkCore:
        idempotency.AddEntityFrameworkCoreStore<CrashDbContext>();
        break;
    default:
        throw new InvalidOperationException($"Store must be {StoreNames.Redis} or {StoreNames.EntityFrameworkCore}; it is '{store}'.");
}

var app = builder.Build();
await Schema.EnsureCreatedAsync(app.Services, postgres);

var inFlight = new InFlightRequests();
app.Use(inFlight.TrackAsync);
app.UseIdempotency();
app.MapGet("/health", static () => Results.Ok());
app.MapGet("/in-flight", () => Results.Text(inFlight.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
app.MapPost(OrderEndpoint.Path, OrderEndpoint.HandleAsync).RequireIdempotency();

await app.RunAsync();
