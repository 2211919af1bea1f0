namespace Idempotency.Testing.Properties;

/// <summary>A token an operation presents, named relative to the run so a shrunk sequence still means the same thing.</summary>
/// <param name="Choice">Which token.</param>
/// <param name="Offset">How far back for <see cref="TokenChoice.Earlier"/>, which other key for <see cref="TokenChoice.OtherKey"/>, which variant for <see cref="TokenChoice.Unissued"/>.</param>
internal readonly record struct TokenRef(TokenChoice Choice, int Offset)
{
    public override string ToString() => Choice switch
    {
        TokenChoice.Latest => "latest",
        TokenChoice.Earlier => $"earlier-{Offset}",
        TokenChoice.OtherKey => $"other+{Offset}",
        _ => Offset % 2 == 0 ? "zero" : "unissued",
    };
}
