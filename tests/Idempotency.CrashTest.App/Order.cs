namespace Idempotency.CrashTest.App;

/// <summary>
/// The business row one execution of <c>POST /orders</c> writes. Nothing keeps two rows from sharing a key: the table
/// has no unique guard, so a second execution of an operation shows up as a second row.
/// </summary>
public sealed class Order
{
    /// <summary>Insertion order, assigned by the database.</summary>
    public long Sequence { get; set; }

    public required string Key { get; set; }

    /// <summary>The random id this execution generated, so that two executions of one key answer differently.</summary>
    public required Guid Id { get; set; }

    public required string Payload { get; set; }

    public required string Instance { get; set; }

    /// <summary>The harness's id of the attempt that ran this execution (its <c>X-Request-Id</c>).</summary>
    public required long RequestId { get; set; }

    /// <summary>The exact body this execution answered with, for the checker's byte-for-byte comparison.</summary>
    public required string Response { get; set; }
}
