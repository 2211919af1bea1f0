using System.Globalization;

namespace Idempotency.Keys;

/// <summary>Takes the key from a route value.</summary>
internal sealed class RouteValueKeyResolver : IKeySourceDescription
{
    private readonly string _name;

    public RouteValueKeyResolver(string name)
    {
        _name = name;
        Description = $"the route value '{name}'";
    }

    public string Description { get; }

    public ValueTask<string?> ResolveAsync(KeyResolverArguments arguments)
        => new(arguments.Context.Request.RouteValues.TryGetValue(_name, out var value)
            ? Convert.ToString(value, CultureInfo.InvariantCulture)
            : null);
}
