using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>A context the store made for one operation, disposed with the scope it came from (if any).</summary>
internal readonly struct ContextLease(DbContext context, AsyncServiceScope? scope)
{
    public DbContext Context { get; } = context;

    public ValueTask DisposeAsync() => scope is { } s ? s.DisposeAsync() : Context.DisposeAsync();

    public void Dispose()
    {
        if (scope is { } s)
        {
            s.Dispose();
        }
        else
        {
            Context.Dispose();
        }
    }
}
