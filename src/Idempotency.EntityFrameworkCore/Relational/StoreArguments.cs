using Idempotency.Storage;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>The argument rules of the store contract, checked before the database is touched.</summary>
internal static class StoreArguments
{
    public static void Key(string key, string name)
    {
        ArgumentNullException.ThrowIfNull(key, name);
        if (key.Length > Schema.KeyLength)
        {
            throw new ArgumentException($"A key is at most {Schema.KeyLength} characters; this one has {key.Length}.", name);
        }
    }

    public static void Positive(TimeSpan duration, string name) => ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero, name);

    public static void Sequence(long epoch, long sequenceNumber)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceNumber, 1);
    }

    public static void Complete(StoredResponse response, TimeSpan retention)
    {
        ArgumentNullException.ThrowIfNull(response);
        Positive(retention, nameof(retention));
    }
}
