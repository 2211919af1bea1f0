using Idempotency.Headers;
using Idempotency.Problems;

namespace Idempotency.Keys;

/// <summary>
/// A request's idempotency key, or why it has none: for <see cref="KeyParseStatus.Missing"/> and
/// <see cref="KeyParseStatus.Invalid"/>, the problem to answer with.
/// </summary>
internal readonly struct KeyRead
{
    public KeyRead(string key, KeySpace space = default)
    {
        Status = KeyParseStatus.Valid;
        Key = key;
        Space = space;
    }

    public KeyRead(KeyParseStatus status, IdempotencyProblem problem, string detail)
    {
        Status = status;
        Problem = problem;
        Detail = detail;
    }

    public KeyParseStatus Status { get; }

    public string? Key { get; }

    /// <summary>Where <see cref="Key"/> names an operation: the whole scope for a header key, its endpoint and method for a resolved one.</summary>
    public KeySpace Space { get; }

    public IdempotencyProblem? Problem { get; }

    public string? Detail { get; }
}
