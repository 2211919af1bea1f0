using System.Security.Claims;
using Idempotency;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using PaymentApi.Auth;

namespace PaymentApi.Payments;

internal static class PaymentEndpoints
{
    /// <summary>The idempotency policy <c>POST /payments</c> runs under; configured in Program.cs.</summary>
    public const string IdempotencyPolicy = "payments";

    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static RouteGroupBuilder MapPayments(this IEndpointRouteBuilder app)
    {
        var payments = app.MapGroup("/payments").RequireAuthorization();

        // Only the charge needs a key: reads are safe to repeat.
        payments.MapPost("", CreateAsync).RequireIdempotency(IdempotencyPolicy);
        payments.MapGet("", ListAsync);
        payments.MapGet("{id}", GetAsync);
        return payments;
    }

    private static async Task<Results<Created<Payment>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreatePaymentRequest request,
        HttpContext context,
        PaymentLedger ledger,
        IOptions<IdempotencyOptions> idempotency,
        CancellationToken cancellationToken)
    {
        var errors = request.Validate();
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        // The middleware has already deduplicated this request by its key; the ledger records the key as well, so a
        // retry whose idempotency record was lost still cannot charge twice. The feature holds the key as the
        // middleware read it (unquoted), so both spellings of one key are one key here too.
        var key = context.Features.Get<IIdempotencyFeature>()?.Key;
        var payment = await ledger.CreateAsync(context.User.CallerId(), key, request.Amount!.Value, request.Currency!, request.Description, cancellationToken);

        if (payment.Amount != request.Amount || payment.Currency != request.Currency || payment.Description != request.Description)
        {
            // The key already paid for something else. Answer as the middleware does when it still has the record.
            return TypedResults.Problem(
                statusCode: StatusCodes.Status422UnprocessableEntity,
                type: idempotency.Value.ProblemTypeBaseUri + "idempotency-key-reused",
                title: "Idempotency key reused",
                detail: "This idempotency key was already used for a different payment. Use a new key for a new payment.");
        }

        return TypedResults.Created($"/payments/{payment.Id}", payment);
    }

    private static async Task<Results<Ok<IReadOnlyList<Payment>>, ValidationProblem>> ListAsync(
        ClaimsPrincipal user, PaymentLedger ledger, CancellationToken cancellationToken, int? limit = null)
    {
        var count = limit ?? DefaultLimit;
        if (count is < 1 or > MaxLimit)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["limit"] = [$"limit must be between 1 and {MaxLimit}."],
            });
        }

        return TypedResults.Ok(await ledger.ListAsync(user.CallerId(), count, cancellationToken));
    }

    private static async Task<Results<Ok<Payment>, ProblemHttpResult>> GetAsync(
        string id, ClaimsPrincipal user, PaymentLedger ledger, CancellationToken cancellationToken)
    {
        // Another user's payment is "not found" too: a 403 would confirm that the id exists.
        return await ledger.FindAsync(user.CallerId(), id, cancellationToken) is { } payment
            ? TypedResults.Ok(payment)
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Payment not found", detail: "You have no payment with this id.");
    }
}
