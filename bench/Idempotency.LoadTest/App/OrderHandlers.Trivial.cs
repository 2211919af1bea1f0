using Microsoft.AspNetCore.Http;

namespace Idempotency.LoadTest.App;

/// <summary>The trivial handler; apart from the database handlers so that the micro-benchmarks can link it with Orders.cs.</summary>
public static partial class OrderHandlers
{
    private static readonly byte[] TrivialBody = """{"id":"ord_00000000000000000000000000000000","status":"ok"}"""u8.ToArray();

    /// <summary>
    /// POST /trivial/orders: answers <c>201</c> with a small constant JSON object, without reading the body. What a
    /// ratio to its baseline then shows is what the middleware costs (reading and fingerprinting the body included),
    /// not what a replay saves by skipping an expensive handler.
    /// </summary>
    public static Task CreateTrivialAsync(HttpContext context)
    {
        Interlocked.Increment(ref _executions);
        return WriteTrivialAsync(context, StatusCodes.Status201Created);
    }

    /// <summary>GET /trivial/orders/{size}: the same constant object for a read, the request shape output caching serves.</summary>
    public static Task GetTrivialAsync(HttpContext context)
    {
        Interlocked.Increment(ref _executions);
        return WriteTrivialAsync(context, StatusCodes.Status200OK);
    }

    private static Task WriteTrivialAsync(HttpContext context, int status)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = TrivialBody.Length;
        return response.Body.WriteAsync(TrivialBody, context.RequestAborted).AsTask();
    }
}
