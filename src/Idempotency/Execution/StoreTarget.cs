namespace Idempotency.Execution;

/// <summary>
/// What a begin asks the store for: a key-mode record, or a numbered request of a sequence stream, with the
/// fingerprint that tells a retry from a different operation under the same identity.
/// </summary>
internal readonly struct StoreTarget
{
    private StoreTarget(string key, byte[] fingerprint, bool isStream, long epoch, long number)
    {
        Key = key;
        Fingerprint = fingerprint;
        IsStream = isStream;
        Epoch = epoch;
        Number = number;
    }

    /// <summary>The record or stream key, scoped and hashed.</summary>
    public string Key { get; }

    public byte[] Fingerprint { get; }

    public bool IsStream { get; }

    public long Epoch { get; }

    public long Number { get; }

    public static StoreTarget Record(string recordKey, byte[] fingerprint) => new(recordKey, fingerprint, isStream: false, 0, 0);

    public static StoreTarget Stream(string streamKey, long epoch, long number, byte[] fingerprint) => new(streamKey, fingerprint, isStream: true, epoch, number);
}
