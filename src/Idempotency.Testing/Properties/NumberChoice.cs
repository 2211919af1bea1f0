namespace Idempotency.Testing.Properties;

/// <summary>Which number a stream begin sends, relative to <c>last</c> as its epoch sees it when the step runs.</summary>
internal enum NumberChoice
{
    /// <summary><c>last + 1</c>: the number that may run.</summary>
    Next,

    /// <summary><c>last - k</c> (at least 1): a retry of an applied number, in or out of the window.</summary>
    Behind,

    /// <summary><c>last + 1 + k</c>: a gap.</summary>
    Ahead,

    /// <summary>A fixed value, including 2^53 + 1 and 2^63 - 1.</summary>
    Fixed,
}
