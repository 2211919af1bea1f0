namespace Idempotency.Chaos.History;

/// <summary>What the store did with an execution's response.</summary>
public enum CompletionOutcome
{
    /// <summary>No store call reported anything: without idempotency, or still pending when the history was read.</summary>
    None,

    /// <summary>The store accepted the completion: the record holds this response.</summary>
    Stored,

    /// <summary>The store refused it because another request owns the record now (fencing).</summary>
    Fenced,

    /// <summary>The completion never reached the store (Redis down, connection killed): the record stays in flight until its lease ends.</summary>
    Failed,

    /// <summary>The record was released (status not storable, handler threw).</summary>
    Released,
}
