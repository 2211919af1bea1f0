using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Idempotency.Benchmarks.Infrastructure;

/// <summary>HTTP contexts shaped like Kestrel's for in-process benchmarks.</summary>
public static class Requests
{
    public static DefaultHttpContext Post(string path, byte[] body, string? key, IServiceProvider? services = null)
    {
        var context = new DefaultHttpContext();
        var request = context.Request;
        request.Method = HttpMethods.Post;
        request.Scheme = "http";
        request.Host = new HostString("127.0.0.1");
        request.Path = path;
        request.ContentType = "application/json";
        request.ContentLength = body.Length;
        request.Body = new NonSeekableReadStream(body);
        if (key is not null)
        {
            request.Headers["Idempotency-Key"] = key;
        }

        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
        if (services is not null)
        {
            context.RequestServices = services;
        }

        return context;
    }

    /// <summary>
    /// Disposes what a request registered for disposal. <c>EnableBuffering</c> registers its buffer stream (which deletes
    /// its temp file when disposed) with the response, and a bare <see cref="DefaultHttpContext"/> never completes one.
    /// </summary>
    public static async ValueTask CompleteAsync(HttpContext context)
    {
        if (context.Request.Body is not NonSeekableReadStream)
        {
            await context.Request.Body.DisposeAsync();
        }
    }
}
