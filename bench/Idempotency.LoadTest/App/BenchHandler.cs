namespace Idempotency.LoadTest.App;

/// <summary>Which handler sits behind the middleware (or behind nothing, in a baseline).</summary>
public enum BenchHandler
{
    /// <summary>The small create endpoint of <c>Orders.cs</c>: deserializes, prices and serializes an order.</summary>
    Realistic,

    /// <summary>A handler that answers a small constant object, so that a ratio shows the middleware's own cost.</summary>
    Trivial,
}

/// <summary>Where each handler's routes live: the same paths, the trivial ones under <c>/trivial</c>.</summary>
public static class BenchHandlers
{
    public const string TrivialPrefix = "/trivial";

    public static string Name(BenchHandler handler) => handler == BenchHandler.Trivial ? "trivial" : "realistic";

    public static string Path(BenchHandler handler, string path) => handler == BenchHandler.Trivial ? TrivialPrefix + path : path;
}
