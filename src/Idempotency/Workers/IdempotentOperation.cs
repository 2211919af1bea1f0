namespace Idempotency;

/// <summary>What identifies one operation run through <see cref="IIdempotentExecutor"/>.</summary>
public readonly struct IdempotentOperation
{
    /// <summary>Creates an operation.</summary>
    /// <param name="key">
    /// The operation's key: the same for every delivery of it (a message id, a webhook's delivery id). 1 to
    /// <see cref="IdempotencyOptions.MaxKeyLength"/> characters; any characters, it is hashed before it reaches the store.
    /// </param>
    /// <param name="payload">
    /// The bytes that say what the operation does (the message body, say): its fingerprint. A retry with the same key
    /// and a different payload is a conflict, not a replay.
    /// </param>
    public IdempotentOperation(string key, ReadOnlyMemory<byte> payload)
    {
        Key = key;
        Payload = payload;
    }

    /// <summary>The operation's key.</summary>
    public string Key { get; }

    /// <summary>The bytes that make the operation's fingerprint.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>
    /// Who the operation belongs to (a tenant, say): keys of different scopes never meet. Worker scopes are a
    /// namespace of their own, so no HTTP caller's key can ever match a worker's.
    /// </summary>
    /// <value>Defaults to <see langword="null"/>: the one shared worker scope. Must not be empty.</value>
    public string? Scope { get; init; }

    /// <summary>The policy (lease, retention, concurrent wait, snapshot limit, fail-open) to run under.</summary>
    /// <value>Defaults to <see langword="null"/>: <see cref="IdempotencyOptions.DefaultPolicy"/>.</value>
    public string? PolicyName { get; init; }
}
