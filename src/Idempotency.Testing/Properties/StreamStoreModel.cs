using Idempotency.Storage;

namespace Idempotency.Testing.Properties;

/// <summary>
/// The stream half of the store contract (<see cref="IIdempotencySequenceStore.TryBeginSequenceAsync"/> and the other stream
/// operations) as plain code: a dictionary of streams and an explicit clock.
/// </summary>
/// <remarks>
/// <para>
/// A stream is its epoch, its last applied number, the responses of the numbers still in its window, when its
/// retention ends (none before its first complete), and one in-flight slot. It is alive while its retention runs or
/// its slot's lease does; otherwise it is missing (epoch 0, last 0, nothing in flight).
/// </para>
/// <para>Expiry is exact, with the same boundary as <see cref="KeyStoreModel"/>.</para>
/// </remarks>
internal sealed class StreamStoreModel
{
    private readonly Dictionary<string, StreamState> _streams = new(StringComparer.Ordinal);
    private long _lastToken;

    /// <summary>The model's clock, starting at zero.</summary>
    public TimeSpan Now { get; private set; }

    public void Advance(TimeSpan duration) => Now += duration;

    /// <summary>The epoch of the stream, 0 when it is missing.</summary>
    public long EpochOf(string stream) => Live(stream)?.Epoch ?? 0;

    /// <summary>The last applied number as a request of <paramref name="epoch"/> sees it: 0 for a newer epoch or a missing stream.</summary>
    public long LastSeenBy(string stream, long epoch)
        => Live(stream) is { } live && live.Epoch == epoch ? live.Last : 0;

    /// <summary>See <see cref="IIdempotencySequenceStore.TryBeginSequenceAsync"/>; the decision order of its documentation, step by step.</summary>
    public SequenceBeginOutcome Begin(string stream, long epoch, long number, int fingerprint, TimeSpan lease)
    {
        var live = Live(stream);
        var current = live?.Epoch ?? 0;
        if (epoch < current)
        {
            return new(SequenceBeginStatus.EpochFenced, 0, null, 0, current);
        }

        var last = live is not null && epoch == current ? live.Last : 0;
        if (number <= last)
        {
            if (!live!.Window.TryGetValue(number, out var applied))
            {
                return new(SequenceBeginStatus.AlreadyApplied, 0, null, last, 0);
            }

            return applied.Fingerprint == fingerprint
                ? new(SequenceBeginStatus.Completed, 0, applied.Response, 0, 0)
                : new(SequenceBeginStatus.FingerprintMismatch, 0, null, 0, 0);
        }

        if (number - 1 > last)
        {
            return new(SequenceBeginStatus.Gap, 0, null, last, 0);
        }

        if (live?.Slot is { } slot && Now < slot.LeaseEnd)
        {
            return slot.Epoch == epoch && slot.Number == number && slot.Fingerprint != fingerprint
                ? new(SequenceBeginStatus.FingerprintMismatch, 0, null, 0, 0)
                : new(SequenceBeginStatus.InFlight, 0, null, 0, 0);
        }

        if (live is null)
        {
            live = new StreamState();
            _streams[stream] = live;
        }

        var token = ++_lastToken;
        live.Slot = new Slot(token, epoch, number, fingerprint, Now + lease);
        return new(SequenceBeginStatus.Acquired, token, null, 0, 0);
    }

    /// <summary>See <see cref="IIdempotencySequenceStore.RenewSequenceLeaseAsync"/>.</summary>
    public bool Renew(string stream, long token, TimeSpan lease)
    {
        if (Owned(stream, token) is not { } owner)
        {
            return false;
        }

        owner.Slot = owner.Slot! with { LeaseEnd = Now + lease };
        return true;
    }

    /// <summary>See <see cref="IIdempotencySequenceStore.CompleteSequenceAsync"/>; <paramref name="response"/> names an entry of <see cref="PropertyResponses"/>.</summary>
    public bool Complete(string stream, long token, int response, int window, TimeSpan retention)
    {
        if (Owned(stream, token) is not { } owner)
        {
            return false;
        }

        var slot = owner.Slot!;
        if (slot.Epoch > owner.Epoch)
        {
            // A new incarnation's first applied number: the old epoch's history is no longer anyone's.
            owner.Epoch = slot.Epoch;
            owner.Window.Clear();
        }

        owner.Last = slot.Number;
        owner.Window[slot.Number] = (slot.Fingerprint, response);
        foreach (var number in owner.Window.Keys.Where(n => n <= slot.Number - window).ToList())
        {
            owner.Window.Remove(number);
        }

        owner.Slot = null;
        owner.RetentionEnd = Now + retention;
        return true;
    }

    /// <summary>See <see cref="IIdempotencySequenceStore.ReleaseSequenceAsync"/>.</summary>
    public bool Release(string stream, long token)
    {
        if (Owned(stream, token) is not { } owner)
        {
            return false;
        }

        owner.Slot = null;
        return true;
    }

    private StreamState? Live(string stream)
    {
        if (!_streams.TryGetValue(stream, out var live))
        {
            return null;
        }

        var slotLive = live.Slot is { } slot && Now < slot.LeaseEnd;
        var retained = live.RetentionEnd is { } end && Now < end;
        if (slotLive || retained)
        {
            return live;
        }

        _streams.Remove(stream);
        return null;
    }

    private StreamState? Owned(string stream, long token)
        => Live(stream) is { Slot: { } slot } live && slot.Token == token && Now < slot.LeaseEnd ? live : null;

    private sealed record Slot(long Token, long Epoch, long Number, int Fingerprint, TimeSpan LeaseEnd);

    private sealed class StreamState
    {
        public long Epoch { get; set; }

        public long Last { get; set; }

        /// <summary>Applied numbers still replayable: their fingerprint and response index.</summary>
        public SortedDictionary<long, (int Fingerprint, int Response)> Window { get; } = [];

        /// <summary>When the retention set by the last complete ends; null before the first complete.</summary>
        public TimeSpan? RetentionEnd { get; set; }

        public Slot? Slot { get; set; }
    }
}
