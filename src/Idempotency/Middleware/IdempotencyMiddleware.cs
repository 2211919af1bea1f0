using Microsoft.AspNetCore.Http;

namespace Idempotency.Middleware;

internal sealed class IdempotencyMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context) => next(context);
}
