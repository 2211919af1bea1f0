namespace Idempotency.Testing.Properties;

/// <summary>The few fingerprints generated requests carry; 0 and 1 differ only in their last byte.</summary>
internal static class PropertyFingerprints
{
    public const int Count = 3;

    /// <summary>A fresh copy of fingerprint <paramref name="index"/>, so a store that kept the caller's buffer instead of copying it would show.</summary>
    public static byte[] Create(int index)
    {
        var fingerprint = new byte[32];
        fingerprint.AsSpan().Fill(index == 2 ? (byte)0x5C : (byte)0xA7);
        fingerprint[^1] = (byte)index;
        return fingerprint;
    }
}
