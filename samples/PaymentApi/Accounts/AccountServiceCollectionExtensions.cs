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
    /// <param name="services">The application's services.</param>
    /// <param name="transactional">
    /// Whether the <c>transfers</c> policy runs in transactional mode: the store must then keep its streams in the
    /// ledger's database (the EF Core store on <see cref="LedgerDbContext"/>).
    /// </param>
    public static IServiceCollection AddAccounts(this IServiceCollection services, bool transactional)
    {
        // Policies are options: this adds to whatever AddIdempotency(...) configures, in any order.
        services.Configure<IdempotencyOptions>(options => options.AddPolicy(
            AccountEndpoints.IdempotencyPolicy, policy => AccountEndpoints.ConfigureTransfersPolicy(policy, transactional)));

        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, AccountJsonContext.Default));

        // In the payments' database, through the request's LedgerDbContext (AddLedgerDatabase): one database to back
        // up, and instances that share ConnectionStrings__Ledger share both.
        services.AddScoped<AccountLedger>();
        return services;
    }
}
