namespace Idempotency.CrashTest.App;

/// <summary>The values of the <c>Store</c> setting this build of the app understands.</summary>
public static class StoreNames
{
    public const string Redis = "redis";

    /// <summary>The EF Core store in transactional mode; compiled in with the <c>EFCORE_STORE</c> symbol.</summary>
    public const string EntityFrameworkCore = "efcore";

#if EFCORE_STORE
    public const string Supported = Redis + ", " + EntityFrameworkCore;
#else
    public const string Supported = Redis;
#endif
}
