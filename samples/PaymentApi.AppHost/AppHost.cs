// Two PaymentApi replicas sharing one Redis: a retry that reaches the other replica is a replay, as it is for any
// number of instances. The connection string reaches each replica as ConnectionStrings__Redis, the one switch
// PaymentApi reads to keep its idempotency records in Redis (see README.md).
var builder = DistributedApplication.CreateBuilder(args);

var cache = builder.AddRedis("cache");

builder.AddProject<Projects.PaymentApi>("paymentapi")
    .WithReference(cache, connectionName: "Redis")
    .WaitFor(cache)
    .WithReplicas(2);

builder.Build().Run();
