using System.Globalization;

namespace Idempotency.Testing.Properties;

/// <summary>One step of a generated sequence-mode sequence.</summary>
/// <param name="Kind">The operation.</param>
/// <param name="Stream">Which of the run's streams (<see cref="StoreOperationGenerators.StreamCount"/>).</param>
/// <param name="Epoch">How a begin picks its epoch.</param>
/// <param name="EpochValue">The epoch for <see cref="EpochChoice.Fixed"/>.</param>
/// <param name="Number">How a begin picks its number.</param>
/// <param name="NumberValue">The distance for <see cref="NumberChoice.Behind"/> and <see cref="NumberChoice.Ahead"/>, the number for <see cref="NumberChoice.Fixed"/>.</param>
/// <param name="Fingerprint">Which of <see cref="PropertyFingerprints"/> a begin sends.</param>
/// <param name="Duration">The lease of a begin or renew, the retention of a complete, the time an advance lets pass.</param>
/// <param name="Token">The token a renew, complete or release presents.</param>
/// <param name="Response">Which of <see cref="PropertyResponses"/> a complete applies.</param>
/// <param name="Window">The window a complete trims to.</param>
internal sealed record StreamOperation(
    OperationKind Kind, int Stream, EpochChoice Epoch, long EpochValue, NumberChoice Number, long NumberValue, int Fingerprint, TimeSpan Duration, TokenRef Token, int Response, int Window)
    : IStoreOperation
{
    public string StreamName => "s" + Stream.ToString(CultureInfo.InvariantCulture);

    public override string ToString() => Kind switch
    {
        OperationKind.Begin => $"Begin({StreamName}, epoch {Describe(Epoch, EpochValue)}, number {Describe(Number, NumberValue)}, fp{Fingerprint}, lease {PropertyTimeProfile.Format(Duration)})",
        OperationKind.Renew => $"Renew({StreamName}, {Token}, lease {PropertyTimeProfile.Format(Duration)})",
        OperationKind.Complete => $"Complete({StreamName}, {Token}, response {Response}, window {Window}, retention {PropertyTimeProfile.Format(Duration)})",
        OperationKind.Release => $"Release({StreamName}, {Token})",
        _ => $"Advance({PropertyTimeProfile.Format(Duration)})",
    };

    private static string Describe(EpochChoice choice, long value) => choice switch
    {
        EpochChoice.Current => "current",
        EpochChoice.Newer => "newer",
        EpochChoice.Older => "older",
        _ => value.ToString(CultureInfo.InvariantCulture),
    };

    private static string Describe(NumberChoice choice, long value) => choice switch
    {
        NumberChoice.Next => "next",
        NumberChoice.Behind => "last-" + value.ToString(CultureInfo.InvariantCulture),
        NumberChoice.Ahead => "next+" + value.ToString(CultureInfo.InvariantCulture),
        _ => value.ToString(CultureInfo.InvariantCulture),
    };
}
