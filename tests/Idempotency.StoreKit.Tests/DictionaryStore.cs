using System.Buffers;
using Idempotency.Storage;

namespace Idempotency.StoreKit.Tests;

/// <summary>
/// A third-party store as a store author writes one: keyed records only (no sequence streams), in a dictionary behind
/// one lock, written against the public API alone, with the operator's view (<see cref="IIdempotencyAdminStore"/>). Responses are kept as bytes from <see cref="StoredResponseSerializer"/>,
/// as a store over any byte-oriented backend would keep them. The packaging tests compile this same file against the
/// packed packages.
/// </summary>
public sealed class DictionaryStore(TimeProvider timeProvider) : IIdempotencyStore, IIdempotencyAdminStore
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    // One counter for the whole store: a token never repeats for a key, even after its record expired and came back.
    private long _lastToken;

    public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ThrowIfNotPositive(lease, nameof(lease));
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var now = timeProvider.GetUtcNow();
            if (_entries.TryGetValue(key, out var entry) && entry.ExpiresAt > now)
            {
                if (!entry.Fingerprint.AsSpan().SequenceEqual(fingerprint.Span))
                {
                    return ValueTask.FromResult(IdempotencyBeginResult.FingerprintMismatch());
                }

                return ValueTask.FromResult(entry.Response is null
                    ? IdempotencyBeginResult.InFlight()
                    : IdempotencyBeginResult.Completed(StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(entry.Response))));
            }

            var token = ++_lastToken;
            _entries[key] = new Entry(fingerprint.ToArray(), token, now + lease, Response: null);
            return ValueTask.FromResult(IdempotencyBeginResult.Acquired(token));
        }
    }

    public ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
    {
        ThrowIfNotPositive(lease, nameof(lease));
        return ValueTask.FromResult(WithOwnedEntry(key, fencingToken, (entry, now) => _entries[key] = entry with { ExpiresAt = now + lease }));
    }

    public ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        ThrowIfNotPositive(retention, nameof(retention));
        var bytes = StoredResponseSerializer.Serialize(response);
        return ValueTask.FromResult(WithOwnedEntry(key, fencingToken, (entry, now) => _entries[key] = entry with { ExpiresAt = now + retention, Response = bytes }));
    }

    public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken)
        => ValueTask.FromResult(WithOwnedEntry(key, fencingToken, (_, _) => _entries.Remove(key)));

    public ValueTask<IdempotencyRecordInfo?> InspectRecordAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var entry) || entry.ExpiresAt <= timeProvider.GetUtcNow())
            {
                return ValueTask.FromResult<IdempotencyRecordInfo?>(null);
            }

            return ValueTask.FromResult<IdempotencyRecordInfo?>(entry.Response is null
                ? IdempotencyRecordInfo.InFlight(entry.Token, entry.ExpiresAt)
                : IdempotencyRecordInfo.Completed(StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(entry.Response)), entry.ExpiresAt));
        }
    }

    public ValueTask<bool> DeleteRecordAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        lock (_lock)
        {
            return ValueTask.FromResult(_entries.Remove(key, out var entry) && entry.ExpiresAt > timeProvider.GetUtcNow());
        }
    }

    // This store keeps no streams: every stream is missing.
    public ValueTask<IdempotencyStreamInfo?> InspectStreamAsync(string streamKey, CancellationToken cancellationToken)
        => ValueTask.FromResult<IdempotencyStreamInfo?>(null);

    public ValueTask<bool> ResetStreamAsync(string streamKey, CancellationToken cancellationToken) => ValueTask.FromResult(false);

    /// <summary>Runs <paramref name="change"/> only while <paramref name="fencingToken"/> holds the live lease of an in-flight record.</summary>
    private bool WithOwnedEntry(string key, long fencingToken, Action<Entry, DateTimeOffset> change)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        lock (_lock)
        {
            var now = timeProvider.GetUtcNow();
            if (!_entries.TryGetValue(key, out var entry) || entry.Response is not null || entry.Token != fencingToken || entry.ExpiresAt <= now)
            {
                return false;
            }

            change(entry, now);
            return true;
        }
    }

    private static void ThrowIfNotPositive(TimeSpan duration, string name)
    {
        if (duration <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, duration, "Leases and retentions must be positive.");
        }
    }

    // An in-flight record has no response; a completed one keeps its serialized response until ExpiresAt. Expired
    // entries are only overwritten, never swept: enough for tests, not for production, where the backend's own
    // expiry (or a sweep) must bound memory.
    private sealed record Entry(byte[] Fingerprint, long Token, DateTimeOffset ExpiresAt, byte[]? Response);
}
