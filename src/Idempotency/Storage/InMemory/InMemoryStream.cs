using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace Idempotency.Storage.InMemory;

/// <summary>
/// One sequence stream (sequence mode, docs/contract.md): its epoch, its last applied number, the responses of the most recent applied
/// numbers, and its single in-flight slot.
/// </summary>
/// <remarks>
/// <para>
/// Unlike a record, a stream lives across owners: each acquisition only replaces the slot, and the stream itself
/// goes away only when it expires (nothing applied within its retention, no live slot) or when its last slot is
/// freed before anything was applied.
/// </para>
/// <para>
/// The window is a ring of the applied numbers <c>Last - count + 1 .. Last</c>. Numbers are applied one after another
/// and a newer epoch empties the ring, so the kept numbers are always that contiguous run and a lookup is an offset.
/// </para>
/// <para>Mutated only under the store's lock.</para>
/// </remarks>
internal sealed class InMemoryStream : InMemoryEntry
{
    // Stands for the dictionary entry, this object, its expiry index node and the ring's array header.
    internal const long FixedOverheadBytes = 160;

    // Stands for one ring cell or the slot's fields plus the fingerprint array's header. The slot and the window entry
    // it becomes cost the same, so applying a number grows the stream only by its response.
    internal const long EntryOverheadBytes = 64;

    private Applied[] _window = [];
    private int _head;
    private int _count;
    private long _retentionEnd = long.MinValue;

    /// <param name="key">The stream key.</param>
    public InMemoryStream(string key)
        : base(key)
    {
        SizeBytes = MeasureEmpty(key);
        ExpiresAt = _retentionEnd;
    }

    public long Epoch { get; private set; }

    public long Last { get; private set; }

    /// <summary>The slot owner's token; 0 when the slot is free.</summary>
    public long SlotToken { get; private set; }

    public long SlotEpoch { get; private set; }

    public long SlotNumber { get; private set; }

    public byte[]? SlotFingerprint { get; private set; }

    public long SlotLeaseEnd { get; private set; }

    /// <summary>The bytes the slot adds to <see cref="InMemoryEntry.SizeBytes"/>; 0 when it is free.</summary>
    public long SlotBytes => SlotFingerprint is { } fingerprint ? MeasureSlot(fingerprint.Length) : 0;

    /// <summary>How many applied numbers keep their response.</summary>
    public int WindowCount => _count;

    public bool IsSlotLive(long now) => SlotToken != 0 && now < SlotLeaseEnd;

    // A stream is kept for its retention (its expiry moves with every applied number), whether or not a slot is held.
    public override bool IsLeased => false;

    public bool TryGetApplied(long number, [NotNullWhen(true)] out byte[]? fingerprint, [NotNullWhen(true)] out StoredResponse? response)
    {
        var offset = number - (Last - _count + 1);
        if (offset < 0 || offset >= _count)
        {
            fingerprint = null;
            response = null;
            return false;
        }

        var entry = _window[(_head + (int)offset) % _window.Length];
        fingerprint = entry.Fingerprint;
        response = entry.Response;
        return true;
    }

    /// <summary>Gives the slot to a new owner, replacing an expired one.</summary>
    public void TakeSlot(long epoch, long number, byte[] fingerprint, long token, long leaseEnd)
    {
        SizeBytes += MeasureSlot(fingerprint.Length) - SlotBytes;
        SlotToken = token;
        SlotEpoch = epoch;
        SlotNumber = number;
        SlotFingerprint = fingerprint;
        SlotLeaseEnd = leaseEnd;
        UpdateExpiry();
    }

    public void RenewSlot(long leaseEnd)
    {
        SlotLeaseEnd = leaseEnd;
        UpdateExpiry();
    }

    public void FreeSlot()
    {
        SizeBytes -= SlotBytes;
        SlotToken = 0;
        SlotFingerprint = null;
        UpdateExpiry();
    }

    /// <summary>
    /// The first half of applying the slot: raises the epoch (emptying the window) when the slot's is newer, and drops
    /// the entries the slot's entry will push out of a window of <paramref name="window"/>. Done before the store makes
    /// room for the response, so the space these free counts before anything else is evicted.
    /// </summary>
    public void PrepareToApply(int window)
    {
        Debug.Assert(SlotToken != 0, "Only an owned slot is applied.");
        if (SlotEpoch > Epoch)
        {
            while (_count > 0)
            {
                DropOldest();
            }

            Epoch = SlotEpoch;
            Last = 0;
        }

        while (_count > window - 1)
        {
            DropOldest();
        }
    }

    /// <summary>
    /// The second half: <see cref="Last"/> becomes the slot's number, whose fingerprint and <paramref name="response"/>
    /// join the window, the slot is freed and the stream is kept until <paramref name="retentionEnd"/>.
    /// </summary>
    public void ApplySlot(StoredResponse response, long responseBytes, long retentionEnd)
    {
        // The slot was taken for last + 1 and only its own completion moves last; a newer epoch began at 1.
        Debug.Assert(SlotNumber == Last + 1, "Numbers are applied in order.");
        var fingerprint = SlotFingerprint!;
        var entryBytes = MeasureSlot(fingerprint.Length) + responseBytes;
        if (_count == _window.Length)
        {
            Grow();
        }

        _window[(_head + _count) % _window.Length] = new Applied(fingerprint, response, entryBytes);
        _count++;
        Last = SlotNumber;

        // The fingerprint array moves from the slot to the entry; only the response is new.
        SizeBytes += responseBytes;
        SlotToken = 0;
        SlotFingerprint = null;
        _retentionEnd = retentionEnd;
        UpdateExpiry();
    }

    /// <summary>The kept responses, oldest first, for an operator's inspection.</summary>
    public IdempotencyStreamEntry[] CopyWindow()
    {
        var entries = new IdempotencyStreamEntry[_count];
        var first = Last - _count + 1;
        for (var i = 0; i < _count; i++)
        {
            entries[i] = new IdempotencyStreamEntry(first + i, _window[(_head + i) % _window.Length].Response);
        }

        return entries;
    }

    public static long MeasureEmpty(string key) => FixedOverheadBytes + (key.Length * 2L);

    public static long MeasureSlot(int fingerprintLength) => EntryOverheadBytes + fingerprintLength;

    private void DropOldest()
    {
        SizeBytes -= _window[_head].SizeBytes;

        // Cleared so the ring does not keep a dropped response alive until its cell is reused.
        _window[_head] = default;
        _head = (_head + 1) % _window.Length;
        _count--;
    }

    private void Grow()
    {
        var grown = new Applied[Math.Max(4, _window.Length * 2)];
        for (var i = 0; i < _count; i++)
        {
            grown[i] = _window[(_head + i) % _window.Length];
        }

        _window = grown;
        _head = 0;
    }

    // A live slot keeps the stream even past its retention: the slot's owner is about to apply the next number and
    // must find the stream's history where it left it.
    private void UpdateExpiry() => ExpiresAt = SlotToken != 0 ? Math.Max(_retentionEnd, SlotLeaseEnd) : _retentionEnd;

    private readonly record struct Applied(byte[] Fingerprint, StoredResponse Response, long SizeBytes);
}
