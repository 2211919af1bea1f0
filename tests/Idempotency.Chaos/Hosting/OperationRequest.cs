using System.Globalization;

namespace Idempotency.Chaos.Hosting;

/// <summary>One logical operation a client sends (and resends): whose, which, and the exact request.</summary>
public sealed record OperationRequest(string Principal, string Operation, string Path, byte[] Body)
{
    /// <summary>The raw <c>Idempotency-Key</c> value, sent as is.</summary>
    public string? Key { get; init; }

    public long? SequenceNumber { get; init; }

    public string? SequenceStream { get; init; }

    public string ContentType { get; init; } = "application/json";

    /// <summary>Whether its clients may end on a refusal (see <see cref="History.RequestRecord.Hostile"/>).</summary>
    public bool Hostile { get; init; }

    public static OperationRequest ForKey(string principal, string key, string? body = null)
        => new(principal, $"key:{key}", ChaosApp.KeyPath, System.Text.Encoding.UTF8.GetBytes(body ?? $"{{\"key\":\"{key}\"}}")) { Key = key };

    public static OperationRequest ForSequence(string principal, string stream, long number)
        => new(principal, $"seq:{stream}#{number.ToString(CultureInfo.InvariantCulture)}", ChaosApp.SequencePath,
            System.Text.Encoding.UTF8.GetBytes($"{{\"stream\":\"{stream}\",\"n\":{number.ToString(CultureInfo.InvariantCulture)}}}"))
        {
            SequenceNumber = number,
            SequenceStream = stream,
        };
}
