namespace Idempotency.Testing.Properties;

/// <summary>The store operations a generated sequence is made of, for records and streams alike.</summary>
internal enum OperationKind
{
    Begin,
    Renew,
    Complete,
    Release,

    /// <summary>Lets time pass on the store's clock and the model's.</summary>
    Advance,
}
