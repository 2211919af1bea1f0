namespace Idempotency.Storage.InMemory;

/// <summary>
/// One ownership of one key: created in flight by an acquiring begin, completed at most once, and never reused by a
/// later owner (a new begin always makes a new record), so a record's fencing token identifies it.
/// </summary>
/// <remarks>Mutated only under the store's lock.</remarks>
internal sealed class InMemoryRecord : InMemoryEntry
{
    // Stands for the dictionary entry, this object, its index items and the fingerprint array's header: close enough
    // to keep the size limit honest without measuring the runtime.
    internal const long FixedOverheadBytes = 128;

    public InMemoryRecord(string key, byte[] fingerprint, long fencingToken, long expiresAt)
        : base(key)
    {
        Fingerprint = fingerprint;
        FencingToken = fencingToken;
        ExpiresAt = expiresAt;
        SizeBytes = MeasureInFlight(key, fingerprint.Length);
    }

    public byte[] Fingerprint { get; }

    public long FencingToken { get; }

    /// <summary><see langword="null"/> while in flight.</summary>
    public StoredResponse? Response { get; private set; }

    /// <summary>The record's place in the eviction order, so removing it is O(1) and leaves nothing stale behind.</summary>
    public LinkedListNode<InMemoryRecord>? CompletionNode { get; set; }

    /// <summary>The record's place in its scope's eviction order (<see cref="ScopeUsage.CompletionOrder"/>).</summary>
    public LinkedListNode<InMemoryRecord>? ScopeCompletionNode { get; set; }

    public bool IsCompleted => Response is not null;

    /// <summary>Moves the lease end; only while the record is out of the store's expiry index.</summary>
    public void ExtendLease(long expiresAt) => ExpiresAt = expiresAt;

    public void Complete(StoredResponse response, long responseBytes, long expiresAt)
    {
        Response = response;
        SizeBytes += responseBytes;
        ExpiresAt = expiresAt;
    }

    public static long MeasureInFlight(string key, int fingerprintLength)
        => FixedOverheadBytes + (key.Length * 2L) + fingerprintLength;

    public static long MeasureResponse(StoredResponse response)
    {
        long size = response.Body.Length;
        var headers = response.Headers;
        for (var i = 0; i < headers.Count; i++)
        {
            var header = headers[i];
            size += (header.Key?.Length ?? 0) * 2L;
            var values = header.Value;
            for (var j = 0; j < values.Count; j++)
            {
                size += (values[j]?.Length ?? 0) * 2L;
            }
        }

        return size;
    }
}
