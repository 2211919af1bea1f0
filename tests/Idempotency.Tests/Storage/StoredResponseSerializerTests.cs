using System.Buffers;
using Idempotency.Storage;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Tests.Storage;

public sealed class StoredResponseSerializerTests
{
    private static byte[] AllByteValues()
    {
        var body = new byte[512];
        for (var i = 0; i < body.Length; i++)
        {
            body[i] = (byte)i;
        }

        return body;
    }

    private static StoredResponse RoundTrip(StoredResponse response)
    {
        var bytes = StoredResponseSerializer.Serialize(response);
        Assert.Equal(StoredResponseSerializer.GetSerializedLength(response), bytes.Length);
        var fromSequence = StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(bytes));
        AssertSame(fromSequence, StoredResponseSerializer.Deserialize(bytes.AsSpan()));
        return fromSequence;
    }

    private static StoredResponse Read(byte[] bytes) => StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(bytes));

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

    [Fact]
    public void A_body_with_every_byte_value_round_trips()
    {
        var response = new StoredResponse(201, [new("Content-Type", "application/octet-stream")], AllByteValues());

        AssertSame(response, RoundTrip(response));
    }

    [Fact]
    public void Multi_value_headers_keep_their_values_and_order()
    {
        var response = new StoredResponse(
            200,
            [
                new("Vary", new StringValues(["Accept", "Accept-Encoding", ""])),
                new("Location", "/payments/42"),
                new("X-Empty", StringValues.Empty),
                new("Link", new StringValues(["<a>; rel=\"next\"", "<b>; rel=\"prev\""])),
            ],
            "{}"u8.ToArray());

        AssertSame(response, RoundTrip(response));
    }

    [Fact]
    public void Non_ascii_header_values_round_trip()
    {
        var response = new StoredResponse(200, [new("Content-Disposition", "attachment; filename=\"résumé €.pdf\"")], ReadOnlyMemory<byte>.Empty);

        AssertSame(response, RoundTrip(response));
    }

    [Fact]
    public void An_empty_body_round_trips_as_stored()
    {
        var response = new StoredResponse(204, [], ReadOnlyMemory<byte>.Empty);

        var read = RoundTrip(response);

        AssertSame(response, read);
        Assert.True(read.IsBodyStored);
    }

    [Fact]
    public void A_body_that_was_not_stored_round_trips_as_not_stored()
    {
        var response = new StoredResponse(200, [new("Content-Type", "application/json")], ReadOnlyMemory<byte>.Empty, isBodyStored: false);

        var read = RoundTrip(response);

        Assert.False(read.IsBodyStored);
        AssertSame(response, read);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(422)]
    [InlineData(999)]
    public void Every_status_code_round_trips(int statusCode)
        => Assert.Equal(statusCode, RoundTrip(new StoredResponse(statusCode, [], ReadOnlyMemory<byte>.Empty)).StatusCode);

    [Fact]
    public void Lengths_past_one_varint_byte_round_trip()
    {
        var longValue = new string('v', 300);
        var headers = new KeyValuePair<string, StringValues>[200];
        for (var i = 0; i < headers.Length; i++)
        {
            headers[i] = new($"X-Header-{i}", longValue);
        }

        var response = new StoredResponse(200, headers, new byte[70_000]);

        AssertSame(response, RoundTrip(response));
    }

    [Fact]
    public void A_null_header_value_is_stored_as_empty()
    {
        var response = new StoredResponse(200, [new("X-Odd", new StringValues([null, "b"]))], ReadOnlyMemory<byte>.Empty);

        Assert.Equal(new[] { "", "b" }, RoundTrip(response).Headers[0].Value.ToArray());
    }

    [Fact]
    public void Version_1_layout_is_fixed()
    {
        // Records outlive deployments: a change to this layout needs a new version byte, not an edit of this test.
        var response = new StoredResponse(201, [new("A", new StringValues(["x", "yz"]))], new byte[] { 0x00, 0xFF });

        Assert.Equal(
            new byte[] { 1, 201, 0, 1, 1, 1, (byte)'A', 2, 1, (byte)'x', 2, (byte)'y', (byte)'z', 2, 0x00, 0xFF },
            StoredResponseSerializer.Serialize(response));
    }

    [Fact]
    public void Common_header_names_and_values_are_read_as_shared_strings_without_allocating()
    {
        var bytes = StoredResponseSerializer.Serialize(new StoredResponse(
            201, [new("Content-Type", "application/json; charset=utf-8"), new("Location", "/orders/1")], "{}"u8.ToArray()));

        var headers = Read(bytes).Headers;

        Assert.Same(Microsoft.Net.Http.Headers.HeaderNames.ContentType, headers[0].Key);
        Assert.Same("application/json; charset=utf-8", headers[0].Value.ToString());
        Assert.Same(Microsoft.Net.Http.Headers.HeaderNames.Location, headers[1].Key);
        Assert.Equal("/orders/1", headers[1].Value.ToString());
    }

    [Fact]
    public void A_header_that_differs_from_a_common_one_only_in_case_keeps_its_spelling()
    {
        var response = new StoredResponse(
            200, [new("content-type", "Application/JSON; charset=utf-8"), new("LOCATION", "No-Cache")], ReadOnlyMemory<byte>.Empty);

        var read = RoundTrip(response);

        AssertSame(response, read);
        Assert.Equal("content-type", read.Headers[0].Key);
        Assert.Equal("No-Cache", read.Headers[1].Value.ToString());
    }

    [Fact]
    public void The_body_of_a_single_segment_sequence_is_read_without_copying()
    {
        var bytes = StoredResponseSerializer.Serialize(new StoredResponse(200, [], new byte[] { 7, 8, 9 }));

        var read = Read(bytes);

        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(read.Body, out var segment));
        Assert.Same(bytes, segment.Array);
    }

    [Fact]
    public void An_unknown_version_is_rejected()
    {
        var bytes = StoredResponseSerializer.Serialize(new StoredResponse(200, [], ReadOnlyMemory<byte>.Empty));
        bytes[0] = 4;

        var error = Assert.Throws<InvalidDataException>(() => Read(bytes));
        Assert.Contains("version 4", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_flags_are_rejected()
    {
        var bytes = StoredResponseSerializer.Serialize(new StoredResponse(200, [], ReadOnlyMemory<byte>.Empty));
        bytes[3] |= 0x80;

        Assert.Throws<InvalidDataException>(() => Read(bytes));
    }

    [Fact]
    public void Trailing_bytes_are_rejected()
    {
        var bytes = StoredResponseSerializer.Serialize(new StoredResponse(200, [], ReadOnlyMemory<byte>.Empty));

        Assert.Throws<InvalidDataException>(() => Read([.. bytes, 0]));
    }

    [Fact]
    public void Every_truncation_is_rejected()
    {
        var bytes = StoredResponseSerializer.Serialize(new StoredResponse(
            200, [new("Content-Type", "text/plain"), new("Vary", new StringValues(["a", "b"]))], "hello"u8.ToArray()));

        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.Throws<InvalidDataException>(() => Read(bytes[..length]));
        }
    }

    [Fact]
    public void A_length_larger_than_the_snapshot_is_rejected_before_allocating()
    {
        // version, status 200, flags, then a header count of 2^31-1.
        byte[] bytes = [1, 200, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x07];

        Assert.Throws<InvalidDataException>(() => Read(bytes));
    }

    [Fact]
    public void Every_corruption_is_rejected_from_a_span_as_from_a_sequence()
    {
        var bytes = StoredResponseSerializer.Serialize(new StoredResponse(200, [new("A", "b")], "x"u8.ToArray()));

        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.Throws<InvalidDataException>(() => StoredResponseSerializer.Deserialize(bytes.AsSpan(0, length)));
        }

        bytes[0] = 0;
        Assert.Throws<InvalidDataException>(() => StoredResponseSerializer.Deserialize(bytes.AsSpan()));
    }

    [Fact]
    public void A_body_read_from_a_span_is_a_copy()
    {
        var bytes = StoredResponseSerializer.Serialize(new StoredResponse(200, [], new byte[] { 7, 8, 9 }));

        var read = StoredResponseSerializer.Deserialize(bytes.AsSpan());
        bytes.AsSpan().Clear();

        Assert.Equal(new byte[] { 7, 8, 9 }, read.Body.ToArray());
    }

    [Fact]
    public void A_response_split_across_segments_round_trips()
    {
        var response = new StoredResponse(201, [new("Location", "/payments/42"), new("Vary", new StringValues(["a", "b"]))], AllByteValues());
        var bytes = StoredResponseSerializer.Serialize(response);

        // One segment per byte: every field straddles a boundary somewhere.
        var first = new Segment(bytes.AsMemory(0, 1), 0);
        var last = first;
        for (var i = 1; i < bytes.Length; i++)
        {
            last = last.Append(bytes.AsMemory(i, 1));
        }

        AssertSame(response, StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(first, 0, last, 1)));
    }

    [Fact]
    public void Serializing_into_a_buffer_writer_writes_the_same_bytes()
    {
        var response = new StoredResponse(200, [new("Content-Type", "text/plain")], "hello"u8.ToArray());
        var writer = new ArrayBufferWriter<byte>(1);

        StoredResponseSerializer.Serialize(response, writer);

        Assert.Equal(StoredResponseSerializer.Serialize(response), writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Serializing_into_a_span_writes_the_same_bytes_and_refuses_a_short_one()
    {
        var response = new StoredResponse(200, [new("Content-Type", "text/plain")], "hello"u8.ToArray());
        var length = StoredResponseSerializer.GetSerializedLength(response);
        var destination = new byte[length + 3];

        Assert.Equal(length, StoredResponseSerializer.Serialize(response, destination));
        Assert.Equal(StoredResponseSerializer.Serialize(response), destination[..length]);
        Assert.Throws<ArgumentException>(() => StoredResponseSerializer.Serialize(response, new byte[length - 1]));
    }

    [Fact]
    public void The_first_byte_is_the_format_version()
        => Assert.Equal(StoredResponseSerializer.FormatVersion, StoredResponseSerializer.Serialize(new StoredResponse(204, [], ReadOnlyMemory<byte>.Empty))[0]);

    [Fact]
    public void A_value_count_larger_than_the_rest_is_rejected_before_allocating()
    {
        // version, status 200, flags, one header named "A", then a value count of 2^31-1.
        byte[] bytes = [1, 200, 0, 1, 1, 1, (byte)'A', 0xFF, 0xFF, 0xFF, 0xFF, 0x07];

        Assert.Throws<InvalidDataException>(() => StoredResponseSerializer.Deserialize(bytes.AsSpan()));
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
