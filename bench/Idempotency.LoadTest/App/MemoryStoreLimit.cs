namespace Idempotency.LoadTest.App;

/// <summary>
/// The memory mode's store limit: <see cref="BenchServer.MemoryStoreLimitBytes"/> (above what a default run fills) unless
/// <c>serve --memory-limit-bytes</c> gives one the scale run reaches; <c>--memory-evict true</c> sets
/// <c>EvictLiveRecordsWhenFull</c>, so a full store evicts its oldest completed records instead of answering 503.
/// </summary>
/// <param name="LimitBytes">The store's <c>SizeLimitBytes</c> and its one scope's quota (all bench requests share a scope).</param>
/// <param name="Evict">Whether completed records within their retention are evicted to make room.</param>
public sealed record MemoryStoreLimit(long LimitBytes, bool Evict);
