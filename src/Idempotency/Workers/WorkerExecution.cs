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
/// A worker's delegate as the engine runs it. The snapshot is what an HTTP response would be (200,
/// <c>application/json</c>), so every store keeps it unchanged. The result is serialized after the work, apart from it:
/// a result that cannot be serialized is not the work failing (it has taken effect), so the record is completed as not
/// replayable and the failure goes to the first caller; a redelivery is told the work ran and never runs it again.
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
    private Exception? _serializationFailure;

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

    /// <summary>Why the result could not be serialized, for its first caller; <see langword="null"/> when it was.</summary>
    public Exception? SerializationFailure => _serializationFailure;

    public HttpContext? HttpContext => null;

    public async ValueTask RunAsync()
    {
        Result = await _work(_state, _cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<StoredResponse?> CreateResponseAsync() => new(CreateResponse());

    private StoredResponse CreateResponse()
    {
        try
        {
            _json = JsonSerializer.SerializeToUtf8Bytes(Result, _typeInfo);
        }
        catch (Exception ex)
        {
            // Whatever the serializer (or a property getter it calls) throws, the work has taken effect.
            _serializationFailure = ex;
            IdempotencyLog.ResultNotSerializable(_logger, _storeKey, ex);
            return new StoredResponse(StatusCodes.Ok, JsonHeaders, ReadOnlyMemory<byte>.Empty, isBodyStored: false);
        }

        var json = _json;
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
