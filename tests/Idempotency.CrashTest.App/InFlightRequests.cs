namespace Idempotency.CrashTest.App;

/// <summary>
/// Counts the order requests inside the app, completion included (the middleware answers only after its store call),
/// so that the harness can wait for every execution to settle before it reads the rows, instead of sleeping.
/// </summary>
internal sealed class InFlightRequests
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public async Task TrackAsync(HttpContext context, RequestDelegate next)
    {
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            await next(context);
            return;
        }

        Interlocked.Increment(ref _count);
        try
        {
            await next(context);
        }
        finally
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
