using System.Buffers;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Idempotency.Capture;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Benchmarks;

/// <summary>
/// Capturing a response while it streams to the client: the body is written through (here to <see cref="Stream.Null"/>)
/// and copied into pooled segments, then turned into the one array the store keeps. Handlers that serialize JSON write
/// through the pipe writer, which is the path <see cref="PipeWriterCapture"/> takes.
/// </summary>
public class ResponseCaptureBenchmarks
{
    private const int Chunk = 4096;
    private const int Limit = 1024 * 1024;

    private byte[] _body = [];
    private HeaderDictionary _headers = [];
    private readonly HashSet<string> _noExclusions = new(StringComparer.OrdinalIgnoreCase);

    [Params(100, 4 * 1024, 64 * 1024)]
    public int BodySize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _body = new byte[BodySize];
        Random.Shared.NextBytes(_body);
        _headers = new HeaderDictionary
        {
            ["Content-Type"] = "application/json; charset=utf-8",
            ["Location"] = "/orders/ord_8e0f6a8c3b5e4b8f9a510c8d3f7b2a11",
            ["Date"] = "Tue, 24 Nov 2026 09:15:37 GMT",
            ["Server"] = "Kestrel",
            ["Transfer-Encoding"] = "chunked",
        };
    }

    /// <summary>No capture: the same writes through a pipe writer straight to the stream.</summary>
    [Benchmark(Baseline = true)]
    public async Task<int> PipeWriterWithoutCapture()
    {
        var writer = PipeWriter.Create(Stream.Null, new StreamPipeWriterOptions(leaveOpen: true));
        await WriteAsync(writer);
        await writer.CompleteAsync();
        return _body.Length;
    }

    /// <summary>What the middleware does around a JSON handler: capture feature, pipe writer over the capture stream, snapshot array.</summary>
    [Benchmark]
    public async Task<byte[]> PipeWriterCapture()
    {
        using var snapshot = new SnapshotBuffer(Limit);
        var stream = new ResponseCaptureStream(Stream.Null, snapshot, CancellationToken.None, new Microsoft.AspNetCore.Http.HeaderDictionary());
        var feature = new CaptureResponseBodyFeature(new StreamResponseBodyFeature(Stream.Null), stream, hold: false);
        await WriteAsync(feature.Writer);
        await feature.FlushWriterAsync();
        return snapshot.ToArray();
    }

    /// <summary>A handler writing to the response stream directly.</summary>
    [Benchmark]
    public async Task<byte[]> StreamCapture()
    {
        using var snapshot = new SnapshotBuffer(Limit);
        var stream = new ResponseCaptureStream(Stream.Null, snapshot, CancellationToken.None, new Microsoft.AspNetCore.Http.HeaderDictionary());
        for (var offset = 0; offset < _body.Length; offset += Chunk)
        {
            await stream.WriteAsync(_body.AsMemory(offset, Math.Min(Chunk, _body.Length - offset)));
        }

        return snapshot.ToArray();
    }

    private readonly ResponseCaptureStream _unstarted = new(Stream.Null, new SnapshotBuffer(0), CancellationToken.None, new Microsoft.AspNetCore.Http.HeaderDictionary());

    /// <summary>Choosing the headers a record keeps.</summary>
    [Benchmark]
    public List<KeyValuePair<string, StringValues>> HeaderFilter()
        => ResponseHeaderFilter.Capture(_headers, _noExclusions, "Idempotent-Replayed", _unstarted);

    private async Task WriteAsync(PipeWriter writer)
    {
        // As System.Text.Json does: fill the writer's buffer and flush every few KiB.
        for (var offset = 0; offset < _body.Length; offset += Chunk)
        {
            var count = Math.Min(Chunk, _body.Length - offset);
            writer.Write(_body.AsSpan(offset, count));
            await writer.FlushAsync();
        }
    }
}

/// <summary>
/// Bodies larger than the snapshot limit: capture stops copying at the limit and returns its segments to the pool, so
/// what a request holds for its snapshot is bounded by <c>MaxSnapshotBytes</c> whatever the body size.
/// </summary>
public class SnapshotLimitBenchmarks
{
    private const int Limit = 16 * 1024;
    private const int Chunk = 16 * 1024;
    private readonly byte[] _chunk = new byte[Chunk];

    [Params(64 * 1024, 1024 * 1024, 16 * 1024 * 1024)]
    public int BodySize { get; set; }

    [Benchmark]
    public bool CaptureOverLimit()
    {
        using var snapshot = new SnapshotBuffer(Limit);
        var stream = new ResponseCaptureStream(Stream.Null, snapshot, CancellationToken.None, new Microsoft.AspNetCore.Http.HeaderDictionary());
        for (var written = 0; written < BodySize; written += Chunk)
        {
            stream.Write(_chunk);
        }

        return snapshot.Overflowed;
    }
}
