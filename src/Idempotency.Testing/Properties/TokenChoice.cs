namespace Idempotency.Testing.Properties;

/// <summary>Which fencing token an operation that needs one presents.</summary>
internal enum TokenChoice
{
    /// <summary>The last token acquired for this key or stream: the owner's, unless it lost the lease or finished.</summary>
    Latest,

    /// <summary>An earlier token of this key or stream: a late writer from a previous ownership.</summary>
    Earlier,

    /// <summary>The last token of another key or stream: a caller that mixed up its records.</summary>
    OtherKey,

    /// <summary>A token nobody was given (0, or one past the latest): a confused or forged caller.</summary>
    Unissued,
}
