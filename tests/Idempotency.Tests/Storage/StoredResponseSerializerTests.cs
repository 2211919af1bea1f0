using Idempotency.Redis.Internal;
using Idempotency.Storage;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Redis.Tests.Storage;

public sealed class StoredResponseFormatTests
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
        var bytes = StoredResponseFormat.ToArray(response);
        Assert.Equal(StoredResponseFormat.GetSize(response), bytes.Length);
        return StoredResponseFormat.Read(bytes);
    }

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
            StoredResponseFormat.ToArray(response));
    }

    [Fact]
    public void The_body_is_read_without_copying()
    {
        var bytes = StoredResponseFormat.ToArray(new StoredResponse(200, [], new byte[] { 7, 8, 9 }));

        var read = StoredResponseFormat.Read(bytes);

        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(read.Body, out var segment));
        Assert.Same(bytes, segment.Array);
    }

    [Fact]
    public void An_unknown_version_is_rejected()
    {
        var bytes = StoredResponseFormat.ToArray(new StoredResponse(200, [], ReadOnlyMemory<byte>.Empty));
        bytes[0] = 2;

        var error = Assert.Throws<InvalidDataException>(() => StoredResponseFormat.Read(bytes));
        Assert.Contains("version 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_flags_are_rejected()
    {
        var bytes = StoredResponseFormat.ToArray(new StoredResponse(200, [], ReadOnlyMemory<byte>.Empty));
        bytes[3] |= 0x80;

        Assert.Throws<InvalidDataException>(() => StoredResponseFormat.Read(bytes));
    }

    [Fact]
    public void Trailing_bytes_are_rejected()
    {
        var bytes = StoredResponseFormat.ToArray(new StoredResponse(200, [], ReadOnlyMemory<byte>.Empty));

        Assert.Throws<InvalidDataException>(() => StoredResponseFormat.Read([.. bytes, 0]));
    }

    [Fact]
    public void Every_truncation_is_rejected()
    {
        var bytes = StoredResponseFormat.ToArray(new StoredResponse(
            200, [new("Content-Type", "text/plain"), new("Vary", new StringValues(["a", "b"]))], "hello"u8.ToArray()));

        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.Throws<InvalidDataException>(() => StoredResponseFormat.Read(bytes[..length]));
        }
    }

    [Fact]
    public void A_length_larger_than_the_snapshot_is_rejected_before_allocating()
    {
        // version, status 200, flags, then a header count of 2^31-1.
        byte[] bytes = [1, 200, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x07];

        Assert.Throws<InvalidDataException>(() => StoredResponseFormat.Read(bytes));
    }
}
