using Idempotency;
using PaymentApi.Payments;

namespace PaymentApi.Accounts;

internal static class AccountServiceCollectionExtensions
{
    /// <summary>
    /// Adds what the accounts endpoints need: the ledger (in the payments' database), the <c>transfers</c>
    /// idempotency policy and the JSON metadata of the accounts types. Call <see cref="AccountLedger.InitializeAsync"/>
    /// on start and <see cref="AccountEndpoints.MapAccounts"/> to serve them.
    /// </summary>
    public static IServiceCollection AddAccounts(this IServiceCollection services)
    {
        // Policies are options: this adds to whatever AddIdempotency(...) configures, in any order.
        services.Configure<IdempotencyOptions>(options => options.AddPolicy(AccountEndpoints.IdempotencyPolicy, AccountEndpoints.ConfigureTransfersPolicy));

        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, AccountJsonContext.Default));

        // One database for payments and accounts: one file to back up, and instances that share ConnectionStrings__Ledger
        // share both.
        services.AddSingleton(provider => new AccountLedger(
            provider.GetRequiredService<IConfiguration>().GetConnectionString("Ledger")
                ?? PaymentLedger.DefaultConnectionString(provider.GetRequiredService<IHostEnvironment>().ContentRootPath),
            provider.GetRequiredService<TimeProvider>()));
        return services;
    }
}
