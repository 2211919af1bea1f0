using Idempotency.Storage;

namespace Idempotency.Testing.Properties;

/// <summary>
/// The key half of the store contract (<see cref="IIdempotencyStore"/>) as plain code: a dictionary of
/// records and an explicit clock. Written to be read, not to be fast; the property tests compare every store with it.
/// </summary>
/// <remarks>
/// Expiry is exact: a lease or retention of <c>d</c> taken at <c>t</c> is live at every time before <c>t + d</c> and
/// over at <c>t + d</c>. That boundary is the in-memory store's; the contract leaves it open, so runs against a
/// real-time store (Redis) never stop the clock near one. Model tokens are 1, 2, 3, ... across all keys; they stand for
/// whatever opaque tokens the store under test hands out.
/// </remarks>
internal sealed class KeyStoreModel
{
    private readonly Dictionary<string, Record> _records = new(StringComparer.Ordinal);
    private long _lastToken;

    /// <summary>The model's clock, starting at zero.</summary>
    public TimeSpan Now { get; private set; }

    public void Advance(TimeSpan duration) => Now += duration;

    /// <summary>See <see cref="IIdempotencyStore.TryBeginAsync"/>.</summary>
    public KeyBeginOutcome Begin(string key, int fingerprint, TimeSpan lease)
    {
        if (Live(key) is { } record)
        {
            // The fingerprint is compared before the state: a different request is a mismatch whether or not the first finished.
            if (record.Fingerprint != fingerprint)
            {
                return new(IdempotencyBeginStatus.FingerprintMismatch, 0, null);
            }

            return record.Response is { } response
                ? new(IdempotencyBeginStatus.Completed, 0, response)
                : new(IdempotencyBeginStatus.InFlight, 0, null);
        }

        var token = ++_lastToken;
        _records[key] = new Record(fingerprint, token, Now + lease);
        return new(IdempotencyBeginStatus.Acquired, token, null);
    }

    /// <summary>See <see cref="IIdempotencyStore.RenewLeaseAsync"/>.</summary>
    public bool Renew(string key, long token, TimeSpan lease)
    {
        if (Owned(key, token) is not { } record)
        {
            return false;
        }

        record.ExpiresAt = Now + lease;
        return true;
    }

    /// <summary>See <see cref="IIdempotencyStore.CompleteAsync"/>; <paramref name="response"/> names an entry of <see cref="PropertyResponses"/>.</summary>
    public bool Complete(string key, long token, int response, TimeSpan retention)
    {
        if (Owned(key, token) is not { } record)
        {
            return false;
        }

        record.Response = response;
        record.ExpiresAt = Now + retention;
        return true;
    }

    /// <summary>See <see cref="IIdempotencyStore.ReleaseAsync"/>.</summary>
    public bool Release(string key, long token)
    {
        if (Owned(key, token) is null)
        {
            return false;
        }

        _records.Remove(key);
        return true;
    }

    private Record? Live(string key)
        => _records.TryGetValue(key, out var record) && Now < record.ExpiresAt ? record : null;

    // Ownership ends with completion, release, or the lease running out, whether or not anyone took the key over.
    private Record? Owned(string key, long token)
        => Live(key) is { Response: null } record && record.Token == token ? record : null;

    private sealed class Record(int fingerprint, long token, TimeSpan expiresAt)
    {
        public int Fingerprint { get; } = fingerprint;

        public long Token { get; } = token;

        public TimeSpan ExpiresAt { get; set; } = expiresAt;

        /// <summary>The stored response's index in <see cref="PropertyResponses"/>; null while in flight.</summary>
        public int? Response { get; set; }
    }
}
