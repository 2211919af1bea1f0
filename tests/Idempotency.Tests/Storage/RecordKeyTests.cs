using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Idempotency.Storage;

namespace Idempotency.Tests.Storage;

/// <summary>
/// Record keys name records in shared stores across processes and versions, so they must not depend on which scopes a
/// process saw before: a scope's partition comes from a cache when it can, and must equal the hash it stands for.
/// </summary>
public sealed class RecordKeyTests
{
    [Fact]
    public void A_record_key_is_the_documented_hash_of_its_scope_and_key_whether_its_scope_was_seen_before_or_not()
    {
        var scope = "sub:6:issuer:" + Guid.NewGuid().ToString("N");

        var first = RecordKey.Create(scope, "order-1001");
        var again = RecordKey.Create(scope, "order-1002");

        Assert.Equal(Expected((byte)'K', scope, "order-1001"), first);
        Assert.Equal(Expected((byte)'K', scope, "order-1002"), again);
        Assert.Equal(Expected((byte)'S', scope, "payments"), RecordKey.CreateStream(scope, "payments"));
    }

    [Fact]
    public void Scopes_that_share_a_cache_slot_each_keep_their_own_partition()
    {
        // Enough scopes that many share one of the cache's slots, visited in turns so each evicts another's entry.
        var scopes = Enumerable.Range(0, 2_000).Select(i => $"sub:6:issuer:user-{i}").ToArray();
        for (var round = 0; round < 3; round++)
        {
            foreach (var scope in scopes)
            {
                var key = RecordKey.Create(scope, "k");
                Assert.Equal(Expected((byte)'K', scope, "k"), key);
            }
        }
    }

    [Fact]
    public void A_long_scope_gets_the_same_key_each_time()
    {
        var scope = "custom:" + new string('s', 1_000);

        Assert.Equal(Expected((byte)'K', scope, "k"), RecordKey.Create(scope, "k"));
        Assert.Equal(Expected((byte)'K', scope, "k"), RecordKey.Create(scope, "k"));
    }

    // The format written out independently of RecordKey: 16 hex characters of SHA-256('P', scope), then 48 of
    // SHA-256(kind, scope, name), each string length-prefixed in UTF-8.
    private static string Expected(byte kind, string scope, string name)
    {
        var scopePart = Convert.ToHexString(SHA256.HashData(Prefixed((byte)'P', scope, null)))[..16];
        var namePart = Convert.ToHexString(SHA256.HashData(Prefixed(kind, scope, name)))[..48];
        return scopePart + namePart;
    }

    private static byte[] Prefixed(byte kind, string scope, string? name)
    {
        using var stream = new MemoryStream();
        stream.WriteByte(kind);
        foreach (var part in name is null ? [scope] : new[] { scope, name })
        {
            var bytes = Encoding.UTF8.GetBytes(part);
            var length = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
            stream.Write(length);
            stream.Write(bytes);
        }

        return stream.ToArray();
    }
}
