using System.Security.Cryptography;
using Idempotency.Storage;

namespace Idempotency.LocalReplay;

/// <summary>
/// One completed record as the store answered it: its response, and the fingerprint of the request the store matched
/// with it, which is the record's own (a completed record never changes).
/// </summary>
internal sealed class LocalReplayEntry
{
    private readonly byte[] _fingerprint;

    public LocalReplayEntry(string key, byte[] fingerprint, StoredResponse response, long expiresAt, long size)
    {
        Key = key;
        _fingerprint = fingerprint;
        Response = response;
        ExpiresAt = expiresAt;
        Size = size;
    }

    /// <summary>The record's store key: scope and key hashed, exactly as the store names the record.</summary>
    public string Key { get; }

    public StoredResponse Response { get; }

    /// <summary>When the entry stops answering, as a <see cref="TimeProvider.GetTimestamp"/> value.</summary>
    public long ExpiresAt { get; }

    /// <summary>The bytes the entry is counted for against the cache's limits.</summary>
    public long Size { get; }

    /// <summary>Set (under the cache's lock) once the entry has left the index; it may still wait in the eviction order.</summary>
    public bool Removed { get; set; }

    /// <summary>Whether a request with <paramref name="fingerprint"/> is a retry of this record's operation.</summary>
    // Fixed time, as a store comparing hashes would be: how long a comparison takes says nothing about the stored one.
    public bool Matches(ReadOnlySpan<byte> fingerprint) => CryptographicOperations.FixedTimeEquals(_fingerprint, fingerprint);
}
