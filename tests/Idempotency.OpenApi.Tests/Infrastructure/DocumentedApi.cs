using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.OpenApi.Tests.Infrastructure;

/// <summary>One API with an endpoint of every kind the transformer tells apart; its handlers are never called.</summary>
public static class DocumentedApi
{
    public static void Configure(IdempotencyOptions options)
    {
        options.AddPolicy("optional", p => p.KeyRequirement = KeyRequirement.Optional);
        options.AddPolicy("transfers", p =>
        {
            p.SequenceRequirement = SequenceRequirement.Required;
            p.SequenceStreamResolver = static arguments => ValueTask.FromResult(arguments.Context.Request.RouteValues["accountId"] as string);
        });
        options.AddPolicy("events", p => p.SequenceRequirement = SequenceRequirement.Optional);
        options.AddPolicy("fail-open", p => p.FailOpen = true);
    }

    public static void AddServices(IServiceCollection services) =>
        services.AddControllers().AddApplicationPart(typeof(OrdersController).Assembly);

    public static void Map(WebApplication app)
    {
        app.MapPost("/payments", (PaymentRequest request) => TypedResults.Created("/payments/1", new Payment("pay_1", request.Amount)))
            .RequireIdempotency();
        app.MapPost("/drafts", () => TypedResults.Ok(new Payment("draft_1", 0))).RequireIdempotency("optional");
        app.MapPost("/accounts/{accountId}/transfers", (string accountId) => TypedResults.Created($"/accounts/{accountId}/transfers/1", new Payment("tr_1", 1)))
            .RequireIdempotency("transfers");
        app.MapPost("/events", () => TypedResults.Accepted("/events/1")).RequireIdempotency("events");
        app.MapPost("/fail-open", () => TypedResults.NoContent()).RequireIdempotency("fail-open");

        var group = app.MapGroup("/group").RequireIdempotency();
        group.MapPost("/protected", () => "protected");
        group.MapPost("/excluded", () => "excluded").DisableIdempotency();

        app.MapPost("/plain", () => "plain");
        app.MapGet("/plain", () => "plain");
        app.MapGet("/payments/{id}", (string id) => TypedResults.Ok(new Payment(id, 1))).ProducesProblem(StatusCodes.Status404NotFound);

        // Documents 400 and 409 itself and binds the key header as a parameter: both must stay as they are.
        app.MapPost("/documented", ([FromHeader(Name = "Idempotency-Key")] string key) => key)
            .RequireIdempotency()
            .ProducesValidationProblem()
            .Produces<string>(StatusCodes.Status409Conflict, "text/plain");

        app.MapControllers();
    }

    /// <summary>The paths no policy governs: the transformer must leave them exactly as they would be without it.</summary>
    public static readonly (string Method, string Path)[] UntouchedOperations =
    [
        ("POST", "/group/excluded"),
        ("POST", "/plain"),
        ("GET", "/plain"),
        ("GET", "/payments/{id}"),
        ("POST", "/orders/import"),
        ("POST", "/refunds"),
        ("POST", "/refunds/preview"),
    ];
}

public sealed record PaymentRequest(long Amount);

public sealed record Payment(string Id, long Amount);

/// <summary>MVC: the class attribute applies to every action; an action's own attribute overrides it.</summary>
[ApiController]
[Route("orders")]
[Idempotent]
public sealed class OrdersController : ControllerBase
{
    [HttpPost]
    public ActionResult<Payment> Create(PaymentRequest request) => Created("/orders/1", new Payment("ord_1", request.Amount));

    [HttpPost("draft")]
    [Idempotent("optional")]
    public ActionResult<Payment> Draft(PaymentRequest request) => Ok(new Payment("ord_draft", request.Amount));

    [HttpPost("import")]
    [DisableIdempotency]
    public IActionResult Import() => NoContent();
}

/// <summary>No attributes: made idempotent only by a convention on <c>MapControllers()</c> in one test.</summary>
[ApiController]
[Route("refunds")]
public sealed class RefundsController : ControllerBase
{
    [HttpPost]
    public IActionResult Create() => NoContent();

    [HttpPost("preview")]
    [DisableIdempotency]
    public IActionResult Preview() => NoContent();
}
