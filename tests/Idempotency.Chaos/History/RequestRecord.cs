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

    /// <summary>Why no response arrived, when <see cref="Status"/> is 0.</summary>
    public string? Error { get; init; }

    /// <summary>
    /// Hostile input the contract says must be refused before any handler runs: an execution for this request is a
    /// violation, and so is any answer other than a 4xx.
    /// </summary>
    public bool MustBeRejected { get; init; }

    public bool IsSuccess => Status is >= 200 and < 300;
}
