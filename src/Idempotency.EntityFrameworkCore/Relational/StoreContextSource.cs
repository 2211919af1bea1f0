using Microsoft.EntityFrameworkCore;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>
/// Where the store gets its <see cref="DbContext"/>s: a short-lived one of its own for each non-transactional operation
/// (never the request's), and the request's scoped one for a transaction. Checks once that the context's provider is
/// one the store was verified on and that its model maps the store's tables.
/// </summary>
internal abstract class StoreContextSource
{
    private SqlDialect? _dialect;

    /// <summary>The dialect of the context's provider; resolving it checks the context (see <see cref="Check"/>).</summary>
    public SqlDialect Dialect
    {
        get
        {
            if (_dialect is { } dialect)
            {
                return dialect;
            }

            var lease = Create();
            try
            {
                return _dialect = Check(lease.Context);
            }
            finally
            {
                lease.Dispose();
            }
        }
    }

    /// <summary>The name of the application's context type, for messages.</summary>
    public abstract string ContextName { get; }

    /// <summary>A new context the caller disposes (with the scope it came from, if any).</summary>
    public abstract ContextLease Create();

    /// <summary>The request's own context, which the request's scope owns.</summary>
    public abstract DbContext GetRequestContext(IServiceProvider requestServices);

    /// <summary>Throws <see cref="InvalidOperationException"/> naming what to fix when the store cannot run on <paramref name="context"/>.</summary>
    public SqlDialect Check(DbContext context)
    {
        var providerName = context.Database.ProviderName;
        var dialect = SqlDialect.For(providerName)
            ?? throw new InvalidOperationException(
                $"The Entity Framework Core idempotency store runs on PostgreSQL ({SqlDialect.PostgreSqlProviderName}) and SQLite ({SqlDialect.SqliteProviderName}); " +
                $"{ContextName} uses the provider '{providerName ?? "(none)"}', which it has not been verified on. Use one of those two providers for {ContextName}, or another store.");
        if (context.Model.FindEntityType(typeof(RecordRow)) is null
            || context.Model.FindEntityType(typeof(StreamRow)) is null
            || context.Model.FindEntityType(typeof(StreamResponseRow)) is null
            || context.Model.FindEntityType(typeof(FencingRow)) is null)
        {
            throw new InvalidOperationException(
                $"The model of {ContextName} does not map the idempotency store's tables: call modelBuilder.MapIdempotencyTables() in {ContextName}.OnModelCreating, then add a migration (or call EnsureCreated) so that the database has them.");
        }

        return dialect;
    }
}
