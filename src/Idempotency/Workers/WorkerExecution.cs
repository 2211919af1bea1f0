using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Idempotency.Diagnostics;
using Idempotency.Execution;
using Idempotency.Policies;
using Idempotency.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Workers;

/// <summary>
/// A worker's delegate as the engine runs it: the result is serialized as soon as the work returns, so a result that
/// cannot be serialized releases the record like work that throws, and the snapshot is what an HTTP response would
/// be (200, <c>application/json</c>), so every store keeps it unchanged.
/// </summary>
internal sealed class WorkerExecution<TState, TResult> : IOwnedWork
{
    private static readonly IReadOnlyList<KeyValuePair<string, StringValues>> JsonHeaders =
        [new KeyValuePair<string, StringValues>("Content-Type", "application/json")];

    private readonly TState _state;
    private readonly Func<TState, CancellationToken, ValueTask<TResult>> _work;
    private readonly JsonTypeInfo<TResult> _typeInfo;
    private readonly ResolvedPolicy _policy;
    private readonly string _storeKey;
    private readonly IdempotencyTelemetry _telemetry;
    private readonly ILogger _logger;
    private readonly CancellationToken _cancellationToken;
    private byte[]? _json;

    public WorkerExecution(
        TState state, Func<TState, CancellationToken, ValueTask<TResult>> work, JsonTypeInfo<TResult> typeInfo,
        ResolvedPolicy policy, string storeKey, IdempotencyTelemetry telemetry, ILogger logger, CancellationToken cancellationToken)
    {
        _state = state;
        _work = work;
        _typeInfo = typeInfo;
        _policy = policy;
        _storeKey = storeKey;
        _telemetry = telemetry;
        _logger = logger;
        _cancellationToken = cancellationToken;
    }

    /// <summary>The work's result, once <see cref="RunAsync"/> has returned.</summary>
    public TResult Result { get; private set; } = default!;

    public HttpContext? HttpContext => null;

    public async ValueTask RunAsync()
    {
        Result = await _work(_state, _cancellationToken).ConfigureAwait(false);
        _json = JsonSerializer.SerializeToUtf8Bytes(Result, _typeInfo);
    }

    public ValueTask<StoredResponse?> CreateResponseAsync() => new(CreateResponse());

    private StoredResponse CreateResponse()
    {
        var json = _json!;
        _telemetry.SnapshotCaptured(_policy.Name, json.Length);
        if (json.Length > _policy.MaxSnapshotBytes)
        {
            // The work has run: recorded without its value, a retry is told so and never runs it again.
            IdempotencyLog.SnapshotTooLarge(_logger, _storeKey, StatusCodes.Ok, json.Length);
            return new StoredResponse(StatusCodes.Ok, JsonHeaders, ReadOnlyMemory<byte>.Empty, isBodyStored: false);
        }

        return new StoredResponse(StatusCodes.Ok, JsonHeaders, json);
    }

    private static class StatusCodes
    {
        public const int Ok = 200;
    }
}
