namespace Idempotency.Admin.Views;

/// <summary>One stored response header as the admin endpoints show it.</summary>
internal sealed class HeaderView
{
    public required string Name { get; init; }

    public required string?[] Values { get; init; }
}
