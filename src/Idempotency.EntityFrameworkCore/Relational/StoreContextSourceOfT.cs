using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>
/// Contexts of <typeparamref name="TContext"/>: from <see cref="IDbContextFactory{TContext}"/> when the application
/// registered one (<c>AddDbContextFactory</c>, <c>AddPooledDbContextFactory</c>), otherwise from a new service scope.
/// </summary>
internal sealed class StoreContextSource<TContext> : StoreContextSource
    where TContext : DbContext
{
    private readonly IDbContextFactory<TContext>? _factory;
    private readonly IServiceScopeFactory _scopes;

    public StoreContextSource(IServiceProvider services)
    {
        _factory = services.GetService<IDbContextFactory<TContext>>();
        _scopes = services.GetRequiredService<IServiceScopeFactory>();
    }

    public override string ContextName => typeof(TContext).Name;

    public override ContextLease Create()
    {
        if (_factory is not null)
        {
            return new ContextLease(_factory.CreateDbContext(), scope: null);
        }

        var scope = _scopes.CreateAsyncScope();
        try
        {
            return new ContextLease(scope.ServiceProvider.GetRequiredService<TContext>(), scope);
        }
        catch
        {
            scope.Dispose();
            throw;
        }
    }

    public override DbContext GetRequestContext(IServiceProvider requestServices)
        => requestServices.GetRequiredService<TContext>();
}
