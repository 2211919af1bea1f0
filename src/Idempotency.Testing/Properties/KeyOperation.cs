using System.Globalization;

namespace Idempotency.Testing.Properties;

/// <summary>One step of a generated key-mode sequence.</summary>
/// <param name="Kind">The operation.</param>
/// <param name="Key">Which of the run's keys (<see cref="StoreOperationGenerators.KeyCount"/>).</param>
/// <param name="Fingerprint">Which of <see cref="PropertyFingerprints"/> a begin sends.</param>
/// <param name="Duration">The lease of a begin or renew, the retention of a complete, the time an advance lets pass.</param>
/// <param name="Token">The token a renew, complete or release presents.</param>
/// <param name="Response">Which of <see cref="PropertyResponses"/> a complete stores.</param>
internal sealed record KeyOperation(OperationKind Kind, int Key, int Fingerprint, TimeSpan Duration, TokenRef Token, int Response) : IStoreOperation
{
    public string KeyName => "k" + Key.ToString(CultureInfo.InvariantCulture);

    public override string ToString() => Kind switch
    {
        OperationKind.Begin => $"Begin({KeyName}, fp{Fingerprint}, lease {PropertyTimeProfile.Format(Duration)})",
        OperationKind.Renew => $"Renew({KeyName}, {Token}, lease {PropertyTimeProfile.Format(Duration)})",
        OperationKind.Complete => $"Complete({KeyName}, {Token}, response {Response}, retention {PropertyTimeProfile.Format(Duration)})",
        OperationKind.Release => $"Release({KeyName}, {Token})",
        _ => $"Advance({PropertyTimeProfile.Format(Duration)})",
    };
}
