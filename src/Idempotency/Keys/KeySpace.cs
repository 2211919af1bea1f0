using System.Runtime.CompilerServices;
using System.Text;
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
    // Worked out once per endpoint: the route is read from metadata that never changes for an endpoint instance.
    private static readonly ConditionalWeakTable<Endpoint, string> Routes = new();

    private KeySpace(string method, string route)
    {
        Method = method;
        Route = route;
    }

    /// <summary>The method as routing matches it (<c>put</c> is <c>PUT</c>, <c>purge</c> is <c>PURGE</c>); <see langword="null"/> for a header key.</summary>
    public string? Method { get; }

    /// <summary>The endpoint's route identity (see <see cref="RouteOf"/>).</summary>
    public string? Route { get; }

    /// <summary>Whether this is a header key's space, which adds nothing to the record key.</summary>
    public bool IsScopeWide => Method is null;

    /// <summary>The space of the request's endpoint and method. Nothing is built per request for standard methods.</summary>
    public static KeySpace Of(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        var method = context.Request.Method;
        return endpoint is null
            ? new KeySpace(CanonicalMethod(method, null), RouteOf(null))
            : new KeySpace(CanonicalMethod(method, endpoint), Routes.GetValue(endpoint, static e => RouteOf(e)));
    }

    /// <summary>
    /// What tells an endpoint's operations apart from another's, tagged by where it comes from so one kind never equals
    /// another: the route pattern as written with its required values (conventional routes share one pattern, such as
    /// <c>{controller}/{action}/{id?}</c>, and differ only by those), else the display name, else nothing.
    /// </summary>
    internal static string RouteOf(Endpoint? endpoint)
    {
        if (endpoint is RouteEndpoint { RoutePattern: { RawText: { } raw } pattern })
        {
            var required = pattern.RequiredValues;
            var prefix = string.Concat("P", raw.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), ":", raw);
            if (required.Count == 0)
            {
                return prefix;
            }

            var names = new string[required.Count];
            var i = 0;
            foreach (var name in required.Keys)
            {
                names[i++] = name;
            }

            Array.Sort(names, StringComparer.OrdinalIgnoreCase);
            var text = new StringBuilder(prefix);
            foreach (var name in names)
            {
                // Route values match case-insensitively, as routing compares them.
                var value = Convert.ToString(required[name], System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
                text.Append('\n').Append(name.Length).Append(':').Append(name.ToUpperInvariant())
                    .Append(value.Length).Append(':').Append(value.ToUpperInvariant());
            }

            return text.ToString();
        }

        return endpoint?.DisplayName is { } display ? string.Concat("D", display) : "N";
    }

    // Routing matches methods case-insensitively, so a space must not tell PURGE from purge: the endpoint's own spelling
    // when it names the method, else the standard spelling, else upper case (an extension method on a catch-all endpoint).
    private static string CanonicalMethod(string method, Endpoint? endpoint)
    {
        if (endpoint?.Metadata.GetMetadata<IHttpMethodMetadata>() is { } metadata)
        {
            var methods = metadata.HttpMethods;
            for (var i = 0; i < methods.Count; i++)
            {
                if (string.Equals(methods[i], method, StringComparison.OrdinalIgnoreCase))
                {
                    return IsUpper(methods[i]) ? methods[i] : methods[i].ToUpperInvariant();
                }
            }
        }

        var canonical = HttpMethods.GetCanonicalizedValue(method);
        return ReferenceEquals(canonical, method) && !IsUpper(method) ? method.ToUpperInvariant() : canonical;
    }

    private static bool IsUpper(string value)
    {
        foreach (var c in value)
        {
            if (char.IsLower(c))
            {
                return false;
            }
        }

        return true;
    }
}
