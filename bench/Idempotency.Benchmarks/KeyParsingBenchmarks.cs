using BenchmarkDotNet.Attributes;
using Idempotency.Headers;
using Idempotency.Storage;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Benchmarks;

/// <summary>Reading the Idempotency-Key header, and deriving the store key from scope and key.</summary>
public class KeyParsingBenchmarks
{
    private const string Uuid = "8e0f6a8c-3b5e-4b8f-9a51-0c8d3f7b2a11";

    private readonly StringValues _bare = Uuid;
    private readonly StringValues _quoted = $"\"{Uuid}\"";
    private readonly StringValues _escaped = "\"order-\\\"1001\\\"-retry\"";
    private readonly StringValues _tooLong = new string('a', 300);

    /// <summary>What most clients send: a bare UUID. Valid keys come back as the header's own string (no copy).</summary>
    [Benchmark(Baseline = true)]
    public bool BareToken() => IdempotencyKeyParser.Parse(_bare, 255, out _) == KeyParseStatus.Valid;

    /// <summary>The IETF draft's sf-string form: the inner text is a new string.</summary>
    [Benchmark]
    public bool QuotedString() => IdempotencyKeyParser.Parse(_quoted, 255, out _) == KeyParseStatus.Valid;

    [Benchmark]
    public bool QuotedWithEscapes() => IdempotencyKeyParser.Parse(_escaped, 255, out _) == KeyParseStatus.Valid;

    /// <summary>Rejected on length before any character is looked at.</summary>
    [Benchmark]
    public bool TooLong() => IdempotencyKeyParser.Parse(_tooLong, 255, out _) == KeyParseStatus.Valid;

    /// <summary>SHA-256 of scope and key, as 64 hex characters: done once per keyed request.</summary>
    [Benchmark]
    public string StoreKey() => RecordKey.Create("anonymous", Uuid);
}
