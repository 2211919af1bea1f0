namespace Idempotency.Testing.Properties;

/// <summary>Which epoch a stream begin sends, relative to the stream's epoch in the model when the step runs.</summary>
internal enum EpochChoice
{
    /// <summary>The stream's epoch: the common case.</summary>
    Current,

    /// <summary>One above: a restarted client.</summary>
    Newer,

    /// <summary>One below (0 stays 0): a superseded incarnation.</summary>
    Older,

    /// <summary>A fixed value, including some beyond 2^53 where doubles (Lua numbers) lose precision.</summary>
    Fixed,
}
