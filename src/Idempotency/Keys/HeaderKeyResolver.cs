namespace Idempotency.Keys;

/// <summary>
/// Takes the key from another header. It hands the header's text on as it is (two values joined by a comma), so that
/// the key check reads it exactly as it reads the idempotency key header and refuses two values.
/// </summary>
internal sealed class HeaderKeyResolver : IKeySourceDescription
{
    public HeaderKeyResolver(string name)
    {
        Name = name;
        Description = $"the {name} header";
    }

    public string Name { get; }

    public string Description { get; }

    public ValueTask<string?> ResolveAsync(KeyResolverArguments arguments)
    {
        var values = arguments.Context.Request.Headers[Name];
        return new(values.Count == 0 ? null : values.ToString());
    }
}
