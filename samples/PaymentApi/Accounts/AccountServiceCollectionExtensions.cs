using Idempotency;
using PaymentApi.Storage;

namespace PaymentApi.Accounts;

internal static class AccountServiceCollectionExtensions
{
    /// <summary>
    /// Adds what the accounts endpoints need: the ledger (in the payments' database, which
    /// <see cref="LedgerDatabase.AddLedgerDatabase"/> adds), the <c>transfers</c> idempotency policy and the JSON
    /// metadata of the accounts types. Call <see cref="AccountEndpoints.MapAccounts"/> to serve them.
    /// </summary>
    public static IServiceCollection AddAccounts(this IServiceCollection services)
    {
        // Policies are options: this adds to whatever AddIdempotency(...) configures, in any order.
        services.Configure<IdempotencyOptions>(options => options.AddPolicy(AccountEndpoints.IdempotencyPolicy, AccountEndpoints.ConfigureTransfersPolicy));

        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, AccountJsonContext.Default));

        // In the payments' database, through the request's LedgerDbContext (AddLedgerDatabase): one database to back
        // up, and instances that share ConnectionStrings__Ledger share both.
        services.AddScoped<AccountLedger>();
        return services;
    }
}
