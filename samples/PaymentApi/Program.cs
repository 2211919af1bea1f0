using System.Text.Json.Serialization;
using Idempotency;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.OpenApi;
using PaymentApi.Accounts;
using PaymentApi.Admin;
using PaymentApi.Auth;
using PaymentApi.Health;
using PaymentApi.Observability;
using PaymentApi.Payments;
using PaymentApi.Storage;

var builder = WebApplication.CreateBuilder(args);

// Every error is an RFC 9457 problem: validation, 401, 404, bad JSON, and the idempotency middleware's own answers.
builder.Services.AddProblemDetails();

// A malformed body is the client's mistake: answer 400 (made a problem by UseStatusCodePages) instead of throwing,
// in Development too, so it is never a 500 and is answered alike in every environment.
builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = false);

builder.Services.ConfigureHttpJsonOptions(options =>
{
    options.SerializerOptions.TypeInfoResolverChain.Insert(0, PaymentJsonContext.Default);

    // Money is a JSON integer: "amount": "1250" is a malformed request, not an amount.
    options.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
});

builder.Services.AddAuthentication(DemoApiKeyHandler.SchemeName)
    .AddScheme<DemoApiKeyOptions, DemoApiKeyHandler>(
        DemoApiKeyHandler.SchemeName,
        options => builder.Configuration.GetSection("DemoApiKeys").Bind(options.Keys));
builder.Services.AddAuthorization(options => options.AddIdempotencyAdminPolicies(builder.Configuration));

// Where the idempotency records live, the one switch: by default in the ledger's own database (the EF Core store) in
// transactional mode, so a payment or transfer and its record commit together or not at all. With
// ConnectionStrings:Redis, in Redis for comparison: a store apart from the ledger cannot share its transaction, so the
// policies are then not transactional and the ledger's UNIQUE indexes are what stop a second charge when a record is lost.
var redis = builder.Configuration.GetConnectionString("Redis");
var transactional = string.IsNullOrWhiteSpace(redis);

// Every POST /payments needs an Idempotency-Key.
var idempotency = builder.Services.AddIdempotency(options => options.AddPolicy(PaymentEndpoints.IdempotencyPolicy, policy =>
{
    policy.KeyRequirement = KeyRequirement.Required;

    // Clients re-serialize the body when they retry: property order and whitespace must not make a retry a 422.
    policy.CanonicalJsonFingerprint = true;

    // The middleware opens the transaction on the request's LedgerDbContext; the ledger's SaveChanges joins it.
    policy.Transactional = transactional;
}));

// /openapi/v1.json, with each idempotent endpoint's headers and problem responses documented.
builder.Services.AddOpenApi(options => options.AddIdempotency());

// Metrics and traces of the idempotency middleware and ASP.NET Core: console or OTLP when configured, else none.
builder.AddPaymentApiTelemetry();

// The ledger (payments, accounts, transfers): SQLite by default, PostgreSQL when ConnectionStrings:Ledger is a Host=
// connection string. One LedgerDbContext per request carries every write the request makes.
builder.Services.AddLedgerDatabase();
builder.Services.AddScoped<PaymentLedger>();
builder.Services.AddAccounts(transactional);
var healthChecks = builder.Services.AddHealthChecks().AddCheck<LedgerHealthCheck>("ledger");

// Either way several instances sharing the ledger (and Redis) act as one service: a retry that reaches another
// instance is still a replay. With Redis, /health checks it too, through the store's own connection.
if (transactional)
{
    idempotency.AddEntityFrameworkCoreStore<LedgerDbContext>();
}
else
{
    idempotency.AddRedisStore(options => options.Configuration = redis!);
    healthChecks.AddIdempotencyRedis();
}

var app = builder.Build();

await app.Services.InitializeLedgerAsync();

app.UseExceptionHandler();
app.UseStatusCodePages();

// Authentication and authorization run before idempotency: a request without a valid key is turned away before the
// store is touched, and records are kept per caller (the "sub" claim).
app.UseAuthentication();
app.UseAuthorization();
app.UseIdempotency();

app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = HealthResponseWriter.WriteAsync }).AllowAnonymous();
app.MapOpenApi().AllowAnonymous();
app.MapPayments();
app.MapAccounts();

// The admin endpoints (inspect and repair idempotency records, see docs/operations.md) exist only where operators are
// configured (IdempotencyAdmin:Operators; appsettings.Development.json names the demo user "ops"): safe by default.
app.MapIdempotencyAdminForOperators(builder.Configuration);

app.Run();
