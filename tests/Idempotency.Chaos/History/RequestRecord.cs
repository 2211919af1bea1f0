namespace Idempotency.Chaos.History;

/// <summary>
/// One HTTP attempt as the client saw it. <see cref="Operation"/> names what the request asks for: an idempotency key
/// (<c>key:...</c>) or a stream position (<c>seq:stream#n</c>); with <see cref="Principal"/> it identifies one logical
/// operation. <see cref="LogicalClient"/> groups the attempts of one caller retrying the same operation.
/// </summary>
public sealed record RequestRecord
{
    public required long RequestId { get; init; }

    public required string Principal { get; init; }

    public required string Operation { get; init; }

    public required long LogicalClient { get; init; }

    public required int Attempt { get; init; }

    public required string Instance { get; init; }

    /// <summary>The status code, or 0 when no response arrived (connection dropped, client gave up or aborted).</summary>
    public int Status { get; init; }

    public bool Replayed { get; init; }

    public bool HasRetryAfter { get; init; }

    /// <summary>The problem <c>type</c> of an <c>application/problem+json</c> response.</summary>
    public string? ProblemType { get; init; }

    public string? Location { get; init; }

    public byte[] Body { get; init; } = [];

    /// <summary>Every response header (content headers included), by name, case-insensitive; several values joined with ", ".</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = NoHeaders;

    /// <summary>Why no response arrived, when <see cref="Status"/> is 0.</summary>
    public string? Error { get; init; }

    /// <summary>
    /// Hostile input the contract says must be refused before any handler runs: an execution for this request is a
    /// violation, and so is any answer other than a 4xx.
    /// </summary>
    public bool MustBeRejected { get; init; }

    /// <summary>
    /// A client the scenario expects to end on a refusal (a retry of a response too large to keep gets 409
    /// response-not-replayable): the rule that every logical client ends with a success does not apply to it.
    /// </summary>
    public bool Hostile { get; init; }

    private static readonly IReadOnlyDictionary<string, string> NoHeaders = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    public bool IsSuccess => Status is >= 200 and < 300;
}
