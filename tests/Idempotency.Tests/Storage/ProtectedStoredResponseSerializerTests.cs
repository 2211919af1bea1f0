using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Idempotency.Storage;
using Idempotency.Testing;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Tests.Storage;

public sealed class ProtectedStoredResponseSerializerTests : IDisposable
{
    private const string Secret = "card-4242-4242-secret";

    private readonly TestKeyRing _ring = new();

    private static StoredResponse Response(string body = $"{{\"secret\":\"{Secret}\"}}")
        => new(201, [new("Location", $"/payments/{Secret}"), new("X-Multi", new StringValues(["a", "b"]))], Encoding.UTF8.GetBytes(body));

    private static StoredResponse Read(byte[] bytes, Microsoft.AspNetCore.DataProtection.IDataProtector? protector)
        => StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(bytes), protector);

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

    public void Dispose() => _ring.Dispose();

    [Fact]
    public void A_protected_response_starts_with_the_protected_version_and_holds_no_plaintext()
    {
        var bytes = StoredResponseSerializer.Serialize(Response(), _ring.Protector);

        Assert.Equal(StoredResponseSerializer.ProtectedFormatVersion, bytes[0]);
        Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(Secret)));
        Assert.Equal(-1, bytes.AsSpan().IndexOf("Location"u8));
    }

    [Fact]
    public void A_protected_response_reads_back_whole()
    {
        var response = Response();

        AssertSame(response, Read(StoredResponseSerializer.Serialize(response, _ring.Protector), _ring.Protector));
    }

    [Fact]
    public void A_response_that_was_not_stored_reads_back_protected()
    {
        var response = new StoredResponse(200, [], ReadOnlyMemory<byte>.Empty, isBodyStored: false);

        AssertSame(response, Read(StoredResponseSerializer.Serialize(response, _ring.Protector), _ring.Protector));
    }

    [Fact]
    public void Without_a_protector_the_response_is_written_as_version_1()
    {
        var response = Response();

        Assert.Equal(StoredResponseSerializer.Serialize(response), StoredResponseSerializer.Serialize(response, protector: null));
    }

    [Fact]
    public void A_reader_with_a_protector_reads_unprotected_responses_too()
    {
        var response = Response();

        AssertSame(response, Read(StoredResponseSerializer.Serialize(response), _ring.Protector));
    }

    [Fact]
    public void A_protected_response_read_without_a_protector_is_unreadable()
    {
        var bytes = StoredResponseSerializer.Serialize(Response(), _ring.Protector);

        var ex = Assert.Throws<InvalidDataException>(() => Read(bytes, protector: null));
        Assert.Contains("StoredResponseProtector", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => StoredResponseSerializer.Deserialize(bytes.AsSpan()));
        Assert.Throws<InvalidDataException>(() => StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(bytes)));
    }

    [Fact]
    public void A_tampered_protected_response_is_unreadable_with_the_cryptographic_failure_inside()
    {
        var bytes = StoredResponseSerializer.Serialize(Response(), _ring.Protector);
        bytes[^5] ^= 0x01;

        var ex = Assert.Throws<InvalidDataException>(() => Read(bytes, _ring.Protector));
        Assert.IsAssignableFrom<CryptographicException>(ex.InnerException);
    }

    [Fact]
    public void A_response_protected_with_another_key_ring_is_unreadable()
    {
        using var other = new TestKeyRing();
        var bytes = StoredResponseSerializer.Serialize(Response(), other.Protector);

        var ex = Assert.Throws<InvalidDataException>(() => Read(bytes, _ring.Protector));
        Assert.IsAssignableFrom<CryptographicException>(ex.InnerException);
    }

    [Fact]
    public void A_response_protected_for_another_purpose_is_unreadable()
    {
        var bytes = StoredResponseSerializer.Serialize(Response(), _ring.Provider.CreateProtector("another purpose"));

        Assert.IsAssignableFrom<CryptographicException>(Assert.Throws<InvalidDataException>(() => Read(bytes, _ring.Protector)).InnerException);
    }

    [Fact]
    public void A_response_protected_before_a_key_rotation_reads_after_it()
    {
        var before = Response("{\"written\":\"before\"}");
        var beforeBytes = StoredResponseSerializer.Serialize(before, _ring.Protector);

        _ring.Rotate();
        var afterRotation = _ring.NewInstanceProtector();
        var after = Response("{\"written\":\"after\"}");
        var afterBytes = StoredResponseSerializer.Serialize(after, afterRotation);

        Assert.NotEqual(TestKeyRing.KeyIdOf(beforeBytes), TestKeyRing.KeyIdOf(afterBytes));
        AssertSame(before, Read(beforeBytes, afterRotation));
        AssertSame(after, Read(afterBytes, afterRotation));

        // The instance that wrote before the rotation reads what was written with the new key too.
        AssertSame(after, Read(afterBytes, _ring.Protector));
    }

    [Fact]
    public void A_protected_payload_holding_another_protected_payload_is_corruption()
    {
        var inner = StoredResponseSerializer.Serialize(Response(), _ring.Protector);
        byte[] outer = [StoredResponseSerializer.ProtectedFormatVersion, .. _ring.Protector.Protect(inner)];

        var ex = Assert.Throws<InvalidDataException>(() => Read(outer, _ring.Protector));
        Assert.Null(ex.InnerException);
    }

    [Fact]
    public void A_protected_response_is_larger_by_a_bounded_overhead()
    {
        // Documented (at most 101 bytes): MaxSnapshotBytes limits the unprotected response; protection adds the version
        // byte, Data Protection's header (magic, key id, key modifier), IV and MAC, and padding to the cipher's block.
        foreach (var size in new[] { 0, 1, 1000, 100_000 })
        {
            var response = new StoredResponse(200, [], new byte[size]);
            var plain = StoredResponseSerializer.GetSerializedLength(response);
            var overhead = StoredResponseSerializer.Serialize(response, _ring.Protector).Length - plain;
            Assert.InRange(overhead, 1, 101);
        }
    }
}
