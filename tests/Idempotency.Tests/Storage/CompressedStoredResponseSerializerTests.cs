using System.Buffers;
using System.IO.Compression;
using System.Text;
using Idempotency.Storage;
using Idempotency.Testing;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Tests.Storage;

/// <summary>
/// Snapshots compressed with Brotli (format version 3): written only where compression pays, read back byte for byte,
/// compressed before they are protected, and decompressed only up to the largest response the application may store.
/// </summary>
public sealed class CompressedStoredResponseSerializerTests : IDisposable
{
    private readonly TestKeyRing _ring = new();

    public void Dispose() => _ring.Dispose();

    private static IdempotencyOptions Compressing(int threshold = 1024) => new() { CompressStoredResponses = true, StoredResponseCompressionThreshold = threshold };

    /// <summary>A JSON array of orders: repetitive as real API responses are.</summary>
    private static byte[] Json(int size)
    {
        var builder = new StringBuilder("[");
        for (var i = 0; builder.Length < size - 80; i++)
        {
            builder.Append(i == 0 ? "" : ",").Append("{\"id\":\"ord_").Append(i.ToString("D8", System.Globalization.CultureInfo.InvariantCulture))
                .Append("\",\"amount\":").Append(1250 + i).Append(",\"currency\":\"EUR\",\"status\":\"succeeded\"}");
        }

        return Encoding.UTF8.GetBytes(builder.Append(']').ToString());
    }

    private static StoredResponse Response(byte[] body, params KeyValuePair<string, StringValues>[] extraHeaders)
        => new(201, [new("Content-Type", "application/json; charset=utf-8"), new("Location", "/orders/ord_1"), new("X-Multi", new StringValues(["a", "b"])), .. extraHeaders], body);

    private static StoredResponse Read(byte[] bytes, IdempotencyOptions options) => StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(bytes), options);

    private static void AssertSame(StoredResponse expected, StoredResponse actual)
    {
        Assert.Equal(expected.StatusCode, actual.StatusCode);
        Assert.Equal(expected.IsBodyStored, actual.IsBodyStored);
        Assert.Equal(expected.Body.ToArray(), actual.Body.ToArray());
        Assert.Equal(expected.Headers.Count, actual.Headers.Count);
        for (var i = 0; i < expected.Headers.Count; i++)
        {
            Assert.Equal(expected.Headers[i].Key, actual.Headers[i].Key);
            Assert.Equal(expected.Headers[i].Value.ToArray(), actual.Headers[i].Value.ToArray());
        }
    }

    /// <summary>A version-3 payload stating <paramref name="statedLength"/> around <paramref name="compressed"/>.</summary>
    private static byte[] CompressedPayload(uint statedLength, ReadOnlySpan<byte> compressed, byte algorithm = 1)
    {
        var bytes = new List<byte> { StoredResponseSerializer.CompressedFormatVersion, algorithm };
        var v = statedLength;
        while (v >= 0x80)
        {
            bytes.Add((byte)(v | 0x80));
            v >>= 7;
        }

        bytes.Add((byte)v);
        bytes.AddRange(compressed.ToArray());
        return [.. bytes];
    }

    private static byte[] Brotli(ReadOnlySpan<byte> data)
    {
        var destination = new byte[BrotliEncoder.GetMaxCompressedLength(data.Length)];
        Assert.True(BrotliEncoder.TryCompress(data, destination, out var written, quality: 5, window: 22));
        return destination[..written];
    }

    [Theory]
    [InlineData(4 * 1024)]
    [InlineData(64 * 1024)]
    public void A_body_above_the_threshold_is_stored_compressed_and_reads_back_byte_for_byte(int size)
    {
        var options = Compressing();
        var response = Response(Json(size));

        var bytes = StoredResponseSerializer.Serialize(response, options);

        Assert.Equal(StoredResponseSerializer.CompressedFormatVersion, bytes[0]);
        Assert.True(bytes.Length < StoredResponseSerializer.GetSerializedLength(response) / 3, $"{bytes.Length} bytes compressed");
        AssertSame(response, Read(bytes, options));
        AssertSame(response, StoredResponseSerializer.Deserialize(bytes.AsSpan()));
        AssertSame(response, StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(bytes), protector: null));
    }

    [Fact]
    public void A_body_below_the_threshold_is_written_as_version_1()
    {
        var response = Response(Json(2000));
        var length = response.Body.Length;

        Assert.Equal(StoredResponseSerializer.Serialize(response), StoredResponseSerializer.Serialize(response, Compressing(threshold: length + 1)));
        Assert.Equal(StoredResponseSerializer.CompressedFormatVersion, StoredResponseSerializer.Serialize(response, Compressing(threshold: length))[0]);
    }

    [Fact]
    public void Without_compression_a_large_body_is_written_as_version_1()
    {
        var response = Response(Json(64 * 1024));

        Assert.Equal(StoredResponseSerializer.Serialize(response), StoredResponseSerializer.Serialize(response, new IdempotencyOptions()));
    }

    [Fact]
    public void A_body_with_a_content_encoding_is_stored_as_it_is()
    {
        var response = Response(Json(8 * 1024), new KeyValuePair<string, StringValues>("content-encoding", "br"));

        Assert.Equal(StoredResponseSerializer.Serialize(response), StoredResponseSerializer.Serialize(response, Compressing(threshold: 0)));
    }

    [Fact]
    public void An_incompressible_body_is_kept_plain_because_it_is_smaller()
    {
        var body = new byte[16 * 1024];
        new Random(42).NextBytes(body);
        var response = Response(body);

        Assert.Equal(StoredResponseSerializer.Serialize(response), StoredResponseSerializer.Serialize(response, Compressing(threshold: 0)));
    }

    [Fact]
    public void A_response_without_a_stored_body_is_written_as_version_1()
    {
        var response = new StoredResponse(200, [new("Location", "/x")], ReadOnlyMemory<byte>.Empty, isBodyStored: false);

        Assert.Equal(StoredResponseSerializer.Serialize(response), StoredResponseSerializer.Serialize(response, Compressing(threshold: 0)));
    }

    [Fact]
    public void Every_level_reads_back_byte_for_byte_and_the_smallest_size_level_is_smaller_than_the_fastest()
    {
        var response = Response(Json(64 * 1024));
        var sizes = new Dictionary<CompressionLevel, int>();
        foreach (var level in Enum.GetValues<CompressionLevel>())
        {
            var options = Compressing();
            options.StoredResponseCompressionLevel = level;
            var bytes = StoredResponseSerializer.Serialize(response, options);
            AssertSame(response, Read(bytes, options));
            sizes[level] = bytes.Length;
        }

        // The level reaches Brotli: quality 11 beats quality 1 clearly on JSON (quality 4 need not beat 1 on every input).
        Assert.True(sizes[CompressionLevel.SmallestSize] < sizes[CompressionLevel.Fastest] * 0.9, $"{sizes[CompressionLevel.SmallestSize]} vs {sizes[CompressionLevel.Fastest]}");
    }

    [Fact]
    public void A_compressed_response_is_compressed_before_it_is_protected()
    {
        var options = Compressing();
        options.StoredResponseProtector = _ring.Protector;
        options.ProtectStoredResponses = true;
        var response = Response(Json(16 * 1024));

        var bytes = StoredResponseSerializer.Serialize(response, options);

        Assert.Equal(StoredResponseSerializer.ProtectedFormatVersion, bytes[0]);
        var inner = _ring.Protector.Unprotect(bytes[1..]);
        Assert.Equal(StoredResponseSerializer.CompressedFormatVersion, inner[0]);
        Assert.True(bytes.Length < StoredResponseSerializer.GetSerializedLength(response) / 3, $"{bytes.Length} bytes compressed and protected");
        AssertSame(response, Read(bytes, options));
        AssertSame(response, StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(bytes), _ring.Protector));
    }

    [Fact]
    public void Records_written_before_compression_read_with_compression_on()
    {
        var options = Compressing(threshold: 0);
        options.StoredResponseProtector = _ring.Protector;
        var response = Response(Json(16 * 1024));

        AssertSame(response, Read(StoredResponseSerializer.Serialize(response), options));
        AssertSame(response, Read(StoredResponseSerializer.Serialize(response, _ring.Protector), options));
    }

    [Fact]
    public void Compressed_records_read_with_compression_off()
    {
        var response = Response(Json(16 * 1024));
        var bytes = StoredResponseSerializer.Serialize(response, Compressing());

        AssertSame(response, Read(bytes, new IdempotencyOptions()));
    }

    [Fact]
    public void A_payload_stating_more_than_the_largest_stored_response_is_unreadable_before_anything_is_allocated()
    {
        // 2 GiB stated, a few bytes given: a hostile or corrupt record must not make the reader allocate what it states.
        var bytes = CompressedPayload(int.MaxValue, Brotli(new byte[16]));

        var before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<InvalidDataException>(() => Read(bytes, new IdempotencyOptions()));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024, "the stated length was allocated");
        Assert.Contains("decompress", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => StoredResponseSerializer.Deserialize(bytes.AsSpan()));
    }

    [Fact]
    public void The_bound_follows_the_largest_policy_of_the_options()
    {
        var options = Compressing(threshold: 0);
        options.DefaultPolicy.MaxSnapshotBytes = 100 * 1024;
        var response = Response(Json(400 * 1024));
        var bytes = StoredResponseSerializer.Serialize(response, Compressing(threshold: 0));
        Assert.Equal(StoredResponseSerializer.CompressedFormatVersion, bytes[0]);

        // Within the default 1 MiB it reads; with every policy at 100 KiB (plus room for headers) it is refused ...
        Assert.Throws<InvalidDataException>(() => Read(bytes, options));

        // ... until a policy may store it.
        options.AddPolicy("reports", policy => policy.MaxSnapshotBytes = 512 * 1024);
        AssertSame(response, Read(bytes, options));
    }

    [Fact]
    public void A_response_larger_than_the_bound_is_written_uncompressed_so_it_stays_readable()
    {
        var options = Compressing(threshold: 0);
        options.DefaultPolicy.MaxSnapshotBytes = 100 * 1024;
        var response = Response(Json(400 * 1024));

        var bytes = StoredResponseSerializer.Serialize(response, options);

        Assert.Equal(StoredResponseSerializer.FormatVersion, bytes[0]);
        AssertSame(response, Read(bytes, options));
    }

    [Fact]
    public void A_compression_bomb_that_expands_past_its_stated_length_is_unreadable_within_the_stated_memory()
    {
        // 32 MiB of zeros compress to a few KiB; the payload states 1000 bytes. The reader must stop at what it stated.
        var bomb = Brotli(new byte[32 * 1024 * 1024]);
        Assert.True(bomb.Length < 64 * 1024);
        var bytes = CompressedPayload(1000, bomb);

        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<InvalidDataException>(() => Read(bytes, new IdempotencyOptions()));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1024 * 1024, "decompressed past the stated length");
    }

    [Fact]
    public void A_payload_that_decompresses_to_fewer_bytes_than_it_states_is_unreadable()
    {
        var inner = StoredResponseSerializer.Serialize(Response(Json(4096)));

        Assert.Throws<InvalidDataException>(() => Read(CompressedPayload((uint)inner.Length + 1, Brotli(inner)), new IdempotencyOptions()));
        AssertSame(Response(Json(4096)), Read(CompressedPayload((uint)inner.Length, Brotli(inner)), new IdempotencyOptions()));
    }

    [Fact]
    public void A_truncated_or_altered_compressed_payload_is_unreadable()
    {
        var bytes = StoredResponseSerializer.Serialize(Response(Json(16 * 1024)), Compressing());

        Assert.Throws<InvalidDataException>(() => Read(bytes[..^10], new IdempotencyOptions()));
        Assert.Throws<InvalidDataException>(() => Read(bytes[..3], new IdempotencyOptions()));
        var altered = bytes.ToArray();
        altered[^20] ^= 0xFF;
        Assert.Throws<InvalidDataException>(() => Read(altered, new IdempotencyOptions()));
    }

    [Fact]
    public void An_unknown_compression_algorithm_is_unreadable()
    {
        var inner = StoredResponseSerializer.Serialize(Response(Json(4096)));

        var ex = Assert.Throws<InvalidDataException>(() => Read(CompressedPayload((uint)inner.Length, Brotli(inner), algorithm: 2), new IdempotencyOptions()));
        Assert.Contains("algorithm", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(StoredResponseSerializer.CompressedFormatVersion)]
    [InlineData(StoredResponseSerializer.ProtectedFormatVersion)]
    public void A_compressed_payload_holds_a_version_1_response_only(byte innerVersion)
    {
        var inner = StoredResponseSerializer.Serialize(Response(Json(4096)));
        inner[0] = innerVersion;

        Assert.Throws<InvalidDataException>(() => Read(CompressedPayload((uint)inner.Length, Brotli(inner)), new IdempotencyOptions()));
    }
}
