using System.Security.Claims;
using Idempotency;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using PaymentApi.Auth;

namespace PaymentApi.Accounts;

internal static class AccountEndpoints
{
    /// <summary>The idempotency policy <c>POST /accounts/{accountId}/transfers</c> runs under; see <see cref="ConfigureTransfersPolicy"/>.</summary>
    public const string IdempotencyPolicy = "transfers";

    /// <summary>The route value that names the account, and with it the transfer stream.</summary>
    public const string AccountIdRouteValue = "accountId";

    // The application's own problems are named under its own URN: the library's "urn:idempotency:" prefix is kept
    // for the library's answers (and for the ledger's answers that stand in for them).
    public const string InsufficientFundsType = "urn:paymentapi:insufficient-funds";
    public const string EpochUnsupportedType = "urn:paymentapi:sequence-epoch-unsupported";

    public static RouteGroupBuilder MapAccounts(this IEndpointRouteBuilder app)
    {
        var account = app.MapGroup($"/accounts/{{{AccountIdRouteValue}}}").RequireAuthorization();

        // Only the transfer changes state: reads are safe to repeat and take no sequence number.
        account.MapGet("", GetAccountAsync);
        account.MapPost("transfers", CreateTransferAsync).RequireIdempotency(IdempotencyPolicy);
        account.MapGet("transfers/{id}", GetTransferAsync);
        return account;
    }

    /// <summary>The <c>transfers</c> policy: each account is a stream of numbered transfers, applied in order, exactly once.</summary>
    /// <param name="policy">The policy to configure.</param>
    /// <param name="transactional">
    /// Whether the stream's last applied number advances in the same transaction as the transfer (the EF Core store
    /// on the ledger's database); otherwise the store keeps it apart and the ledger's own numbering is the guard.
    /// </param>
    public static void ConfigureTransfersPolicy(IdempotencyPolicy policy, bool transactional)
    {
        policy.SequenceRequirement = SequenceRequirement.Required;

        // The stream is the account: the client numbers the transfers of each of its accounts 1, 2, 3, ...
        // The middleware keeps streams per caller, so two callers never share one even for the same account id.
        policy.SequenceStreamResolver = static arguments => ValueTask.FromResult(arguments.Context.GetRouteValue(AccountIdRouteValue) as string);

        // The number identifies the request; a key may be sent too and then only adds to the fingerprint.
        policy.KeyRequirement = KeyRequirement.Optional;

        // Clients re-serialize the body when they retry: property order and whitespace must not make a retry a 422.
        policy.CanonicalJsonFingerprint = true;

        // A stored answer uses up its number in the middleware's stream, so only answers the ledger has recorded
        // under that number may be stored: 201 (applied) and 422 (declined for insufficient funds, or the number
        // already holds another transfer). Anything else (400, 404, 409, 5xx) leaves the ledger untouched; storing
        // it would move the middleware past a number the ledger still expects, and every later transfer of the
        // account would be refused as out of order. Not stored, it is answered afresh when the client sends the
        // number again, corrected.
        policy.ShouldStoreResponse = static arguments => ValueTask.FromResult(arguments.StatusCode is (>= 200 and <= 299) or StatusCodes.Status422UnprocessableEntity);

        // In transactional mode an answer that is not stored also rolls back what the handler wrote; the ledger
        // writes nothing for those answers anyway, so the two stay in step either way.
        policy.Transactional = transactional;
    }

    private static async Task<Results<Created<Transfer>, ValidationProblem, ProblemHttpResult>> CreateTransferAsync(
        string accountId,
        CreateTransferRequest request,
        HttpContext context,
        AccountLedger ledger,
        IOptions<IdempotencyOptions> idempotency,
        CancellationToken cancellationToken)
    {
        var options = idempotency.Value;

        // The middleware has read and checked the sequence headers; the ledger needs the number. Under the
        // "transfers" policy a request without one never gets here (428); should the policy ever stop requiring
        // one, the request is still answered as the middleware would, never with a 500.
        var idempotencyFeature = context.Features.Get<IIdempotencyFeature>();
        if (idempotencyFeature?.SequenceNumber is not { } sequence)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status428PreconditionRequired,
                type: options.ProblemTypeBaseUri + "sequence-number-missing",
                title: "Sequence number missing",
                detail: $"Transfers are numbered per account: send the number in the {options.SequenceNumberHeaderName} header, starting at 1.");
        }

        if (idempotencyFeature.SequenceEpoch is not (null or 0))
        {
            // The ledger numbers an account's transfers for the account's whole life; a new epoch would restart
            // the middleware's count at 1 while the ledger is further on. A 409 is not stored, so this request
            // does not raise the stream's epoch and fence the client's epoch-0 requests.
            return TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                type: EpochUnsupportedType,
                title: "Sequence epoch not supported",
                detail: $"Transfers are numbered for the account's whole life and never start over. Omit the {options.SequenceEpochHeaderName} header (or send 0); a client that lost its place reads lastSequence from GET /accounts/{accountId} and continues with the number after it.");
        }

        var errors = request.Validate(accountId);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var result = await ledger.TransferAsync(context.User.CallerId(), accountId, sequence, request.To!, request.Amount!.Value, cancellationToken);
        return result.Status switch
        {
            TransferStatus.Applied => TypedResults.Created($"/accounts/{accountId}/transfers/{result.Transfer!.Id}", result.Transfer),

            TransferStatus.InsufficientFunds => TypedResults.Problem(
                statusCode: StatusCodes.Status422UnprocessableEntity,
                type: InsufficientFundsType,
                title: "Insufficient funds",
                detail: $"Transfer {sequence} of {result.Amount} exceeds the balance of {result.Balance}. Nothing was transferred; the next transfer takes number {sequence + 1}.",
                extensions: new Dictionary<string, object?> { ["balance"] = result.Balance }),

            // The middleware gives these two answers itself while it remembers the stream; the ledger gives them
            // alike when it does not, so a client handles one set of problems.
            TransferStatus.SequenceReused => TypedResults.Problem(
                statusCode: StatusCodes.Status422UnprocessableEntity,
                type: options.ProblemTypeBaseUri + "idempotency-key-reused",
                title: "Sequence number reused",
                detail: $"Transfer number {sequence} of this account was already used for a different transfer. Send a new transfer with the next number."),
            TransferStatus.SequenceGap => TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                type: options.ProblemTypeBaseUri + "sequence-gap",
                title: "Sequence gap",
                detail: $"Transfer {sequence} cannot be applied before the ones before it. The next number this account expects is {result.LastSequence + 1}.",
                extensions: new Dictionary<string, object?>
                {
                    ["expectedSequence"] = result.LastSequence + 1,
                    ["lastSequence"] = result.LastSequence,
                }),

            // Another caller's account is "not found": a 403 would confirm that the id exists.
            _ => AccountNotFound(),
        };
    }

    private static async Task<Results<Ok<Account>, ProblemHttpResult>> GetAccountAsync(
        string accountId, ClaimsPrincipal user, AccountLedger ledger, CancellationToken cancellationToken)
    {
        return await ledger.FindAccountAsync(user.CallerId(), accountId, cancellationToken) is { } account
            ? TypedResults.Ok(account)
            : AccountNotFound();
    }

    private static async Task<Results<Ok<Transfer>, ProblemHttpResult>> GetTransferAsync(
        string accountId, string id, ClaimsPrincipal user, AccountLedger ledger, CancellationToken cancellationToken)
    {
        return await ledger.FindTransferAsync(user.CallerId(), accountId, id, cancellationToken) is { } transfer
            ? TypedResults.Ok(transfer)
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Transfer not found", detail: "This account of yours has no transfer with this id.");
    }

    private static ProblemHttpResult AccountNotFound() =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Account not found", detail: "You have no account with this id.");
}
