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
    private volatile bool _requestContextVerified;

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
    {
        var context = requestServices.GetRequiredService<TContext>();
        if (!_requestContextVerified)
        {
            VerifyScoped(requestServices, context);
            _requestContextVerified = true;
        }

        return context;
    }

    // Only a scoped context is the one the handler writes through. A transient one would give the handler another
    // instance, whose SaveChanges commits on its own outside the record's transaction (silently, request after request);
    // a singleton would share one context, and its transaction, between concurrent requests. Checked on the first
    // transaction (and on every one until it passes): the lifetime is the container's, which the store cannot see.
    private void VerifyScoped(IServiceProvider requestServices, TContext context)
    {
        if (!ReferenceEquals(requestServices.GetRequiredService<TContext>(), context))
        {
            throw new InvalidOperationException(
                $"A transactional idempotency policy begins the request's transaction on the request's {ContextName}, but {ContextName} is registered as Transient: " +
                $"the handler would get another instance, whose SaveChanges would commit on its own, outside the record's transaction. Register {ContextName} as scoped (the default of AddDbContext).");
        }

        using var otherRequest = _scopes.CreateScope();
        if (ReferenceEquals(otherRequest.ServiceProvider.GetRequiredService<TContext>(), context))
        {
            throw new InvalidOperationException(
                $"A transactional idempotency policy begins the request's transaction on the request's {ContextName}, but {ContextName} is registered as Singleton: " +
                $"concurrent requests would share one context and its transaction. Register {ContextName} as scoped (the default of AddDbContext).");
        }
    }
}
