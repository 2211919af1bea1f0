using Microsoft.Extensions.Primitives;

namespace Idempotency.Storage.InMemory;

/// <summary>
/// One ownership of one key: created in flight by an acquiring begin, completed at most once, and never reused by a
/// later owner (a new begin always makes a new record), so a record's fencing token identifies it.
/// </summary>
/// <remarks>Mutated only under the store's lock.</remarks>
internal sealed class InMemoryRecord : InMemoryEntry
{
    // What a record costs on a 64-bit runtime's heap (object headers included), so that the size limit bounds memory:
    // tests/Idempotency.Tests/Storage/InMemoryStoreHeapAccountingTests.cs measures it against the live heap.
    // This object: its header and ten fields.
    private const long RecordObjectBytes = 96;

    // The records dictionary's entry (hash, next, key, value) and bucket, and the expiry index's slot (entry, expiry).
    // Both arrays grow by doubling, so they are counted twice: the limit still holds just after they have grown.
    private const long SlotBytes = 2 * (24 + 4 + 16);

    // Reserved at begin for what completing adds whatever the response: the StoredResponse, its body array's header
    // and padding, its header list and that list's array header. A completion kept without its body for lack of room
    // then still fits.
    private const long ResponseObjectsBytes = 48 + 32 + 32 + 24;

    // The two LinkedListNode objects of the eviction orders, only with EvictLiveRecordsWhenFull.
    private const long EvictionNodesBytes = 2 * 48;

    // A string: header, length, characters and terminator; an array: header and length; both padded to 8 bytes.
    private const long StringOverheadBytes = 22;
    private const long ArrayOverheadBytes = 24;

    // A header list's item: the name and the StringValues, one reference each.
    private const long HeaderSlotBytes = 16;

    // An in-flight record's bytes beyond its key and fingerprint when live records are not evictable.
    private const long FixedOverheadBytes = RecordObjectBytes + SlotBytes + ResponseObjectsBytes;

    /// <param name="key">The record key.</param>
    /// <param name="fingerprint">The store's own copy of the request fingerprint.</param>
    /// <param name="fencingToken">The owner's token.</param>
    /// <param name="expiresAt">The lease end.</param>
    /// <param name="sizeBytes">What <see cref="MeasureInFlight"/> counted for the record.</param>
    public InMemoryRecord(string key, byte[] fingerprint, long fencingToken, long expiresAt, long sizeBytes)
        : base(key)
    {
        Fingerprint = fingerprint;
        FencingToken = fencingToken;
        ExpiresAt = expiresAt;
        SizeBytes = sizeBytes;
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

    public override bool IsLeased => Response is null;

    /// <summary>Moves the lease end; only while the record is out of the store's expiry index.</summary>
    public void ExtendLease(long expiresAt) => ExpiresAt = expiresAt;

    public void Complete(StoredResponse response, long responseBytes, long expiresAt)
    {
        Response = response;
        SizeBytes += responseBytes;
        ExpiresAt = expiresAt;
    }

    /// <summary>An in-flight record's bytes, including what completing it adds whatever its response.</summary>
    /// <param name="key">The record key.</param>
    /// <param name="fingerprintLength">The fingerprint's length.</param>
    /// <param name="evictable">Whether completing the record puts it in the eviction orders.</param>
    public static long MeasureInFlight(string key, int fingerprintLength, bool evictable)
        => FixedOverheadBytes + (evictable ? EvictionNodesBytes : 0) + MeasureString(key) + Align(ArrayOverheadBytes + fingerprintLength);

    /// <summary>
    /// The bytes a response adds to its record beyond the objects every completion reserves: the body's bytes and the
    /// header list's items and strings. A header string shared by many responses (a literal name, a constant content
    /// type) is counted in each, which errs on the side of the limit.
    /// </summary>
    public static long MeasureResponse(StoredResponse response)
    {
        long size = response.Body.Length;
        var headers = response.Headers;
        size += HeaderSlotBytes * (headers is List<KeyValuePair<string, StringValues>> list ? list.Capacity : headers.Count);
        for (var i = 0; i < headers.Count; i++)
        {
            var header = headers[i];
            size += MeasureString(header.Key);
            var values = header.Value;
            if (values.Count > 1)
            {
                size += Align(ArrayOverheadBytes + (8L * values.Count));
            }

            for (var j = 0; j < values.Count; j++)
            {
                size += MeasureString(values[j]);
            }
        }

        return size;
    }

    private static long MeasureString(string? value) => value is null ? 0 : Align(StringOverheadBytes + (value.Length * 2L));

    private static long Align(long bytes) => (bytes + 7) & ~7L;
}
