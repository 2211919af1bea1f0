using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Idempotency.Storage;

namespace Idempotency.Benchmarks;

/// <summary>
/// What <see cref="IdempotencyOptions.CompressStoredResponses"/> costs per record: writing a snapshot (once per first
/// execution) and reading it (once per replay), plain and compressed with Brotli at the default level, for JSON
/// responses of the sizes docs/redis-store.md reports.
/// </summary>
public class SnapshotCompressionBenchmarks
{
    private readonly IdempotencyOptions _plain = new();
    private readonly IdempotencyOptions _compressed = new() { CompressStoredResponses = true };
    private StoredResponse _response = null!;
    private byte[] _plainBytes = [];
    private byte[] _compressedBytes = [];

    [Params(100, 4 * 1024, 64 * 1024)]
    public int BodySize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var body = new StringBuilder("[");
        for (var i = 0; body.Length < BodySize - 90; i++)
        {
            body.Append(i == 0 ? "" : ",").Append("{\"id\":\"ord_").Append(i.ToString("D8", System.Globalization.CultureInfo.InvariantCulture))
                .Append("\",\"amount\":").Append(1250 + (i * 37 % 900)).Append(",\"currency\":\"EUR\",\"status\":\"succeeded\"}");
        }

        body.Append(']').Append(' ', Math.Max(0, BodySize - body.Length - 1));
        _response = new StoredResponse(
            201,
            [new("Content-Type", "application/json; charset=utf-8"), new("Location", "/orders/ord_8e0f6a8c3b5e4b8f9a510c8d3f7b2a11")],
            Encoding.UTF8.GetBytes(body.ToString()));
        _plainBytes = StoredResponseSerializer.Serialize(_response, _plain);
        _compressedBytes = StoredResponseSerializer.Serialize(_response, _compressed);
    }

    [Benchmark(Baseline = true)]
    public int WritePlain() => StoredResponseSerializer.Serialize(_response, _plain).Length;

    [Benchmark]
    public int WriteCompressed() => StoredResponseSerializer.Serialize(_response, _compressed).Length;

    [Benchmark]
    public int ReadPlain() => StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(_plainBytes), _plain).Body.Length;

    [Benchmark]
    public int ReadCompressed() => StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(_compressedBytes), _compressed).Body.Length;
}
