namespace Idempotency.CrashTest.App;

/// <summary>The values of the <c>Store</c> setting this build of the app understands.</summary>
public static class StoreNames
{
    public const string Redis = "redis";

    /// <summary>The EF Core store, in transactional mode: the record commits with the order row.</summary>
    public const string EntityFrameworkCore = "efcore";
}
