using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.LoadTest.App;

/// <summary>The database modes' handler; apart from the rest so that the micro-benchmarks, which link Orders.cs, need no EF Core.</summary>
public static partial class OrderHandlers
{
    /// <summary>
    /// POST /orders in the database modes: the same work, plus the order's row inserted through the request's
    /// <see cref="BenchDbContext"/> (one <c>SaveChanges</c>) before the answer, as a create endpoint stores what it creates.
    /// </summary>
    public static async Task CreateAndStoreAsync(HttpContext context)
    {
        Interlocked.Increment(ref _executions);
        var response = await PriceAsync(context);
        if (response is null)
        {
            return;
        }

        var database = context.RequestServices.GetRequiredService<BenchDbContext>();
        database.Orders.Add(new OrderRow
        {
            Id = response.Id,
            CustomerId = response.CustomerId,
            Status = response.Status,
            Total = response.Total,
            LineCount = response.Lines.Count,
            CreatedAt = response.CreatedAt,
        });
        await database.SaveChangesAsync(context.RequestAborted);
        await WriteCreatedAsync(context, response);
    }
}
