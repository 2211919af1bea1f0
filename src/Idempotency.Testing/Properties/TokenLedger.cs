namespace Idempotency.Testing.Properties;

/// <summary>
/// The tokens of one run, per key or stream: each model token beside the opaque token the store handed out for the
/// same acquisition. Tokens are compared only for identity, so this pairing is all the relation there is to check.
/// </summary>
internal sealed class TokenLedger(int keyCount)
{
    /// <summary>The model's stand-in for a token nobody was given; model tokens start at 1.</summary>
    private const long NoModelToken = -1;

    private readonly List<(long Model, long Store)>[] _issued = Enumerable.Range(0, keyCount).Select(_ => new List<(long, long)>()).ToArray();

    /// <summary>Pairs a new acquisition's tokens; names the broken rule when the store's token is 0 or was handed out for this key before.</summary>
    public string? Issue(int key, long model, long store)
    {
        if (store == 0)
        {
            return "the store acquired with token 0";
        }

        foreach (var (earlierModel, earlierStore) in _issued[key])
        {
            if (earlierStore == store)
            {
                return $"the store handed out t{earlierModel}'s token again";
            }
        }

        _issued[key].Add((model, store));
        return null;
    }

    /// <summary>The model token and the store token <paramref name="token"/> stands for on <paramref name="key"/>.</summary>
    public (long Model, long Store) Resolve(int key, TokenRef token)
    {
        var own = _issued[key];
        switch (token.Choice)
        {
            case TokenChoice.Latest when own.Count > 0:
                return own[^1];
            case TokenChoice.Earlier when own.Count > 0:
                return own[Math.Max(0, own.Count - 1 - token.Offset)];
            case TokenChoice.OtherKey when _issued[(key + token.Offset) % keyCount] is { Count: > 0 } other:
                // Both stores make tokens unique across keys (a counter, random 63 bits), so another key's token never owns this one.
                return other[^1];
            default:
                // 0 is never a token; one past this key's latest is not this key's (in-memory tokens count up across keys).
                return (NoModelToken, token.Offset % 2 == 0 ? 0 : unchecked((own.Count > 0 ? own[^1].Store : 0) + 1));
        }
    }

    /// <summary>How a store token reads in a trace: the model token it was paired with.</summary>
    public string Name(int key, long store)
    {
        foreach (var (model, issued) in _issued[key])
        {
            if (issued == store)
            {
                return "t" + model;
            }
        }

        return store == 0 ? "0" : "?" + store;
    }
}
