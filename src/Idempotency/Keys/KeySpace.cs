using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Idempotency.Keys;

/// <summary>
/// The space a resolved key names an operation in: the request's method and its endpoint's route. A client picks a
/// header key for the operation; a route value or a body member only names something within its endpoint, so
/// <c>PUT /orders/1</c>, <c>PUT /invoices/1</c> and <c>DELETE /orders/1</c> are three operations. The default (no
/// method) is a header key's space: the whole scope.
/// </summary>
internal readonly struct KeySpace
{
    private KeySpace(string method, string route)
    {
        Method = method;
        Route = route;
    }

    /// <summary>The method, canonicalised (<c>put</c> is <c>PUT</c>, as routing matches it); <see langword="null"/> for a header key.</summary>
    public string? Method { get; }

    /// <summary>The endpoint's route pattern as written, else its display name.</summary>
    public string? Route { get; }

    /// <summary>Whether this is a header key's space, which adds nothing to the record key.</summary>
    public bool IsScopeWide => Method is null;

    /// <summary>The space of the request's endpoint and method. Reads strings the endpoint already holds: nothing is built per request.</summary>
    public static KeySpace Of(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        var route = endpoint is RouteEndpoint { RoutePattern.RawText: { } raw } ? raw : endpoint?.DisplayName ?? string.Empty;
        return new KeySpace(HttpMethods.GetCanonicalizedValue(context.Request.Method), route);
    }
}
