namespace Idempotency;

/// <summary>The parts of a request that make up its fingerprint. A retry with the same key must match on all of them.</summary>
[Flags]
public enum FingerprintComponents
{
    /// <summary>Nothing: any request with the same key counts as a retry.</summary>
    None = 0,

    /// <summary>The HTTP method.</summary>
    Method = 1,

    /// <summary>The path, including the path base.</summary>
    Path = 2,

    /// <summary>The query string.</summary>
    Query = 4,

    /// <summary>The <c>Content-Type</c> header.</summary>
    ContentType = 8,

    /// <summary>The request body.</summary>
    Body = 16,

    /// <summary>All of the above.</summary>
    All = Method | Path | Query | ContentType | Body,
}
