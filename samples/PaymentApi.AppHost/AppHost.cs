var builder = DistributedApplication.CreateBuilder(args);

var cache = builder.AddRedis("cache");

builder.AddProject<Projects.PaymentApi>("paymentapi")
    .WithReference(cache)
    .WaitFor(cache)
    .WithReplicas(2);

builder.Build().Run();
