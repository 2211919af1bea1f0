using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Idempotency.Capture;
using Idempotency.Diagnostics;
using Idempotency.Execution;
using Idempotency.Fingerprinting;
using Idempotency.Headers;
using Idempotency.Hooks;
using Idempotency.Keys;
using Idempotency.Policies;
using Idempotency.Problems;
using Idempotency.Storage;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Middleware;

/// <summary>
/// The HTTP adapter of <see cref="IdempotencyEngine"/>: deduplicates requests by idempotency key or orders them by
/// sequence number. It reads the headers, fingerprints the request, captures the handler's response, and turns the
/// engine's decisions into replays and problem responses: the first request runs and its response is recorded;
/// retries get the recorded response; conflicting, concurrent, early and stale requests get problem responses.
/// </summary>
internal sealed class IdempotencyMiddleware
{
    private const string DefaultStream = "default";
    private static readonly StringValues TrueValue = new("true");

    private readonly RequestDelegate _next;
    private readonly IdempotencyPolicyResolver _policies;
    private readonly IdempotencyEngine _engine;
    private readonly IdempotencyOptions _options;
    private readonly ILogger _logger;
    private readonly ProblemResponseWriter _problems;
    private readonly IdempotencyTelemetry _telemetry;
    private readonly PipelineOrder _pipelineOrder;
    private readonly CancellationToken _stopping;
    private readonly IdempotencyHooks _hooks;
    private readonly string _sequenceMissingDetail;
    private readonly string _sequenceInvalidDetail;
    private readonly string _sequenceStreamInvalidDetail;

    public IdempotencyMiddleware(
        RequestDelegate next,
        IdempotencyPolicyResolver policies,
        IdempotencyEngine engine,
        IOptions<IdempotencyOptions> options,
        ILogger<IdempotencyMiddleware> logger,
        IServiceProvider services)
    {
        _engine = engine;
        _telemetry = engine.Telemetry;
        _pipelineOrder = new PipelineOrder(services);
        _stopping = services.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? default;
        _next = next;
        _policies = policies;
        _options = options.Value;
        _logger = logger;
        _hooks = services.GetRequiredService<IdempotencyHooks>();
        _problems = new ProblemResponseWriter(_options, services.GetService<IProblemDetailsService>(), _hooks);
        _sequenceMissingDetail = string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.SequenceNumberMissing.Detail, _options.SequenceNumberHeaderName);
        _sequenceStreamInvalidDetail = string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.SequenceStreamInvalid.Detail, SequenceHeaderParser.MaxResolvedStreamLength);
        _sequenceInvalidDetail = string.Format(
            CultureInfo.InvariantCulture, IdempotencyProblem.SequenceNumberInvalid.Detail,
            _options.SequenceNumberHeaderName, _options.SequenceEpochHeaderName, _options.SequenceStreamHeaderName);
    }

    public Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint is null)
        {
            return InvokeWithoutEndpointAsync(context);
        }

        var policy = _policies.Resolve(endpoint, context.Request.Method);
        if (policy is null)
        {
            return _next(context);
        }

        _pipelineOrder.Verify(context, endpoint);

        return policy.Sequence != SequenceRequirement.Off && context.Request.Headers.ContainsKey(_options.SequenceNumberHeaderName)
            ? InvokeSequencedAsync(context, policy)
            : InvokeKeyedAsync(context, policy);
    }

    private async Task InvokeWithoutEndpointAsync(HttpContext context)
    {
        var features = context.Features;
        var guard = new RoutingOrderGuard(features.Get<IEndpointFeature>(), _policies, context.Request.Method);
        features.Set<IEndpointFeature>(guard);
        try
        {
            await _next(context).ConfigureAwait(false);
        }
        finally
        {
            guard.Remove(features);
        }
    }

    private async Task InvokeKeyedAsync(HttpContext context, ResolvedPolicy policy)
    {
        using var activity = IdempotencyTelemetry.StartRequest(policy.Name, sequenced: false);
        var feature = new IdempotencyFeature(policy.Name, activity);
        context.Features.Set<IIdempotencyFeature>(feature);
        if (policy.Sequence == SequenceRequirement.Required)
        {
            IdempotencyLog.SequenceMissing(_logger, policy.Name);
            RecordOutcome(feature, IdempotencyOutcome.MissingSequence);
            await _problems.WriteAsync(context, IdempotencyProblem.SequenceNumberMissing, _sequenceMissingDetail).ConfigureAwait(false);
            return;
        }

        if (await ReadKeyAsync(context, policy, feature).ConfigureAwait(false) is not { } keyRead)
        {
            return;
        }

        if (keyRead.Status == KeyParseStatus.Missing)
        {
            if (!policy.KeyRequired)
            {
                RecordOutcome(feature, IdempotencyOutcome.PassThrough);
                await _next(context).ConfigureAwait(false);
                return;
            }

            IdempotencyLog.KeyMissing(_logger, policy.Name);
            RecordOutcome(feature, IdempotencyOutcome.MissingKey);
            await _problems.WriteAsync(context, keyRead.Problem!, keyRead.Detail!).ConfigureAwait(false);
            return;
        }

        if (keyRead.Status == KeyParseStatus.Invalid)
        {
            IdempotencyLog.KeyInvalid(_logger, policy.Name);
            RecordOutcome(feature, IdempotencyOutcome.Invalid);
            await _problems.WriteAsync(context, keyRead.Problem!, keyRead.Detail!).ConfigureAwait(false);
            return;
        }

        var key = keyRead.Key!;
        feature.Key = key;
        var scope = await policy.ResolveScopeAsync(context).ConfigureAwait(false);
        feature.TaggedScope = scope;
        var recordKey = RecordKey.Create(scope, key, keyRead.Space);
        var fingerprint = await FingerprintAsync(context, policy, feature, extra: null).ConfigureAwait(false);
        if (fingerprint is null)
        {
            return;
        }

        await BeginAndDispatchAsync(context, policy, feature, StoreTarget.Record(recordKey, fingerprint)).ConfigureAwait(false);
    }

    private async Task InvokeSequencedAsync(HttpContext context, ResolvedPolicy policy)
    {
        using var activity = IdempotencyTelemetry.StartRequest(policy.Name, sequenced: true);
        var feature = new IdempotencyFeature(policy.Name, activity);
        context.Features.Set<IIdempotencyFeature>(feature);
        var headers = context.Request.Headers;
        var numberStatus = SequenceHeaderParser.ParseNumber(headers[_options.SequenceNumberHeaderName], minimum: 1, out var number);
        var epochStatus = SequenceHeaderParser.ParseNumber(headers[_options.SequenceEpochHeaderName], minimum: 0, out var epoch);
        var stream = await policy.ResolveSequenceStreamAsync(context).ConfigureAwait(false);
        if (stream is not null && !SequenceHeaderParser.IsValidResolvedStream(stream))
        {
            // The name came from the request through the application's resolver (a route value, say), not from the
            // client's Sequence-Stream header, so the answer must not blame that header.
            IdempotencyLog.SequenceInvalid(_logger, policy.Name);
            RecordOutcome(feature, IdempotencyOutcome.Invalid);
            await _problems.WriteAsync(context, IdempotencyProblem.SequenceStreamInvalid, _sequenceStreamInvalidDetail).ConfigureAwait(false);
            return;
        }

        var streamValid = stream is not null
            || SequenceHeaderParser.ParseStream(headers[_options.SequenceStreamHeaderName], out stream) != KeyParseStatus.Invalid;
        if (numberStatus != KeyParseStatus.Valid || epochStatus == KeyParseStatus.Invalid || !streamValid)
        {
            IdempotencyLog.SequenceInvalid(_logger, policy.Name);
            RecordOutcome(feature, IdempotencyOutcome.Invalid);
            await _problems.WriteAsync(context, IdempotencyProblem.SequenceNumberInvalid, _sequenceInvalidDetail).ConfigureAwait(false);
            return;
        }

        feature.SequenceStream = stream ?? DefaultStream;
        feature.SequenceNumber = number;
        feature.SequenceEpoch = epoch;

        // With a sequence number the key no longer identifies the operation, but a retry must still carry the same
        // key, so it joins the fingerprint.
        if (await ReadKeyAsync(context, policy, feature).ConfigureAwait(false) is not { } keyRead)
        {
            return;
        }

        if (keyRead.Status == KeyParseStatus.Invalid)
        {
            IdempotencyLog.KeyInvalid(_logger, policy.Name);
            RecordOutcome(feature, IdempotencyOutcome.Invalid);
            await _problems.WriteAsync(context, keyRead.Problem!, keyRead.Detail!).ConfigureAwait(false);
            return;
        }

        var key = keyRead.Key;
        feature.Key = key;
        var scope = await policy.ResolveScopeAsync(context).ConfigureAwait(false);
        feature.TaggedScope = scope;
        var streamKey = RecordKey.CreateStream(scope, feature.SequenceStream);
        var fingerprint = await FingerprintAsync(context, policy, feature, extra: key).ConfigureAwait(false);
        if (fingerprint is null)
        {
            return;
        }

        await BeginAndDispatchAsync(context, policy, feature, StoreTarget.Stream(streamKey, epoch, number, fingerprint)).ConfigureAwait(false);
    }

    // One place decides how a body read before the handler is kept for it, whoever reads it first (a key resolver, the
    // fingerprint; their own EnableBuffering calls then find it buffered): in pooled memory up to the threshold. Only
    // once someone is about to read it: a request that passes through for want of a key is left as it came.
    private void BufferBody(HttpRequest request)
    {
        if (RequestFingerprinter.MayHaveBody(request))
        {
            request.EnableBuffering(RequestFingerprinter.MemoryBufferThreshold(request.ContentLength, _options.RequestBodyBufferThreshold));
        }
    }

    /// <summary>The request's fingerprint, or <see langword="null"/> once a body the server refused to read has been answered.</summary>
[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<byte[]?> FingerprintAsync(HttpContext context, ResolvedPolicy policy, IdempotencyFeature feature, string? extra)
    {
        if ((policy.FingerprintComponents & FingerprintComponents.Body) != 0)
        {
            BufferBody(context.Request);
        }

        try
        {
            return await RequestFingerprinter.ComputeAsync(
                context.Request, policy.FingerprintComponents, policy.CanonicalJsonFingerprint, policy.MaxCanonicalJsonBytes, policy.FingerprintExclusions, extra, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            await RequestBodyInvalidAsync(context, policy, feature, ex).ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>The request's key (or why it has none), or <see langword="null"/> once a body the server refused to read has been answered.</summary>
[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<KeyRead?> ReadKeyAsync(HttpContext context, ResolvedPolicy policy, IdempotencyFeature feature)
    {
        if (policy.Key.ReadsBody)
        {
            BufferBody(context.Request);
        }

        try
        {
            return await policy.Key.ReadAsync(context).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            await RequestBodyInvalidAsync(context, policy, feature, ex).ConfigureAwait(false);
            return null;
        }
    }

    // Kestrel refuses a body over MaxRequestBodySize (413) or with malformed framing (400) as it is read, and a key
    // resolver reading the body refuses one over its bound or not JSON: the client's error, answered with that status
    // before any store call, whether the key or the fingerprint was reading.
    private Task RequestBodyInvalidAsync(HttpContext context, ResolvedPolicy policy, IdempotencyFeature feature, BadHttpRequestException exception)
    {
        IdempotencyLog.RequestBodyInvalid(_logger, policy.Name, exception.StatusCode);
        RecordOutcome(feature, IdempotencyOutcome.Invalid);
        return _problems.WriteAsync(
            context, IdempotencyProblem.RequestBodyInvalid,
            string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.RequestBodyInvalid.Detail, exception.Message),
            status: exception.StatusCode);
    }

    // The keyed and sequenced paths meet here: the engine begins (holding as the policy says) and classifies store
    // failures; this turns its decision into the HTTP answer.
[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask BeginAndDispatchAsync(HttpContext context, ResolvedPolicy policy, IdempotencyFeature feature, StoreTarget target)
    {
        var begin = await _engine.BeginAsync(target, policy, policy.WaitForConcurrent, context.RequestServices, context.RequestAborted).ConfigureAwait(false);
        switch (begin.Decision)
        {
            case BeginDecision.Acquired:
                RecordOutcome(feature, IdempotencyOutcome.Executed);
                var ownership = Ownership.Acquired(target, begin);
                await (ownership.Transaction is null ? ExecuteAsync(context, policy, ownership) : ExecuteInTransactionAsync(context, policy, feature, ownership)).ConfigureAwait(false);
                break;
            case BeginDecision.Completed:
                await ReplayAsync(context, feature, begin.Response!, target.Key).ConfigureAwait(false);
                break;
            case BeginDecision.FingerprintMismatch:
                RecordTransitions.Mismatch(_logger, Activity.Current, target.Key, policy.Name);
                RecordOutcome(feature, IdempotencyOutcome.Mismatch);
                await _problems.WriteAsync(context, IdempotencyProblem.KeyReused, IdempotencyProblem.KeyReused.Detail).ConfigureAwait(false);
                break;
            case BeginDecision.InFlight:
                RecordTransitions.InFlight(_logger, Activity.Current, target.Key, policy.Name);
                RecordOutcome(feature, IdempotencyOutcome.InFlight);
                await _problems.WriteAsync(
                    context, IdempotencyProblem.RequestInFlight, IdempotencyProblem.RequestInFlight.Detail, _options.InFlightRetryAfter).ConfigureAwait(false);
                break;
            case BeginDecision.Gap:
                RecordTransitions.SequenceGap(_logger, Activity.Current, target.Key, target.Number, begin.LastSequence, policy.Name);
                RecordOutcome(feature, IdempotencyOutcome.SequenceGap);
                await _problems.WriteAsync(
                    context, IdempotencyProblem.SequenceGap, IdempotencyProblem.SequenceGap.Detail,
                    extensions: new ProblemExtensions("expectedSequence", begin.LastSequence + 1, "lastSequence", begin.LastSequence)).ConfigureAwait(false);
                break;
            case BeginDecision.AlreadyApplied:
                IdempotencyLog.SequenceAlreadyApplied(_logger, target.Key, target.Number, begin.LastSequence);
                RecordOutcome(feature, IdempotencyOutcome.AlreadyApplied);
                await _problems.WriteAsync(
                    context, IdempotencyProblem.SequenceAlreadyApplied, IdempotencyProblem.SequenceAlreadyApplied.Detail,
                    extensions: new ProblemExtensions("lastSequence", begin.LastSequence)).ConfigureAwait(false);
                break;
            case BeginDecision.EpochFenced:
                IdempotencyLog.SequenceEpochFenced(_logger, target.Key, target.Epoch, begin.CurrentEpoch);
                RecordOutcome(feature, IdempotencyOutcome.Fenced);
                await _problems.WriteAsync(
                    context, IdempotencyProblem.SequenceEpochFenced, IdempotencyProblem.SequenceEpochFenced.Detail,
                    extensions: new ProblemExtensions("currentEpoch", begin.CurrentEpoch)).ConfigureAwait(false);
                break;
            case BeginDecision.StoreUnavailable:
                await StoreUnavailableAsync(context, policy, feature, begin.Failure!).ConfigureAwait(false);
                break;
            case BeginDecision.QuotaExceeded:
                var quota = (IdempotencyStoreCapacityException)begin.Failure!;
                IdempotencyLog.QuotaExceeded(_logger, target.Key, policy.Name, quota.Message);
                RecordOutcome(feature, IdempotencyOutcome.QuotaExceeded);
                await _problems.WriteAsync(context, IdempotencyProblem.QuotaExceeded, IdempotencyProblem.QuotaExceeded.Detail, quota.RetryAfter).ConfigureAwait(false);
                break;
            case BeginDecision.StoreFull:
                var full = (IdempotencyStoreCapacityException)begin.Failure!;
                IdempotencyLog.StoreFull(_logger, policy.Name, full.Message);
                RecordOutcome(feature, IdempotencyOutcome.StoreFull);
                await _problems.WriteAsync(context, IdempotencyProblem.StoreFull, IdempotencyProblem.StoreFull.Detail, full.RetryAfter).ConfigureAwait(false);
                break;
            default:
                IdempotencyLog.RecordUnreadable(_logger, target.Key, policy.Name, begin.Failure!);
                RecordOutcome(feature, IdempotencyOutcome.RecordUnreadable);
                await _problems.WriteAsync(context, IdempotencyProblem.RecordUnreadable, IdempotencyProblem.RecordUnreadable.Detail).ConfigureAwait(false);
                break;
        }
    }

[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ExecuteAsync(HttpContext context, ResolvedPolicy policy, Ownership ownership)
    {
        var originalBody = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        using var snapshot = new SnapshotBuffer(policy.MaxSnapshotBytes);
        var captureStream = new ResponseCaptureStream(originalBody.Stream, snapshot, context.RequestAborted, context.Response.Headers);
        var captureBody = new CaptureResponseBodyFeature(originalBody, captureStream, hold: false);
        await _engine.ExecuteAsync(ownership, policy, new HandlerExecution(this, context, policy, ownership.Key, originalBody, captureBody, captureStream, snapshot)).ConfigureAwait(false);
    }

    // Transactional: the handler's response is held (nothing reaches the client, not even its status) until the
    // transaction's outcome is known, so no answer claims a success that did not commit.
[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ExecuteInTransactionAsync(HttpContext context, ResolvedPolicy policy, IdempotencyFeature feature, Ownership ownership)
    {
        var originalBody = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        using var snapshot = new SnapshotBuffer(policy.MaxSnapshotBytes);
        var captureStream = new ResponseCaptureStream(Stream.Null, snapshot, context.RequestAborted, context.Response.Headers, hold: true);
        var captureBody = new CaptureResponseBodyFeature(originalBody, captureStream, hold: true);
        var execution = new HandlerExecution(
            this, context, policy, ownership.Key, originalBody, captureBody, captureStream, snapshot, context.Features.Get<IExceptionHandlerFeature>());
        ExecutionEnd end;
        Exception? stopped = null;
        try
        {
            end = await _engine.ExecuteAsync(ownership, policy, execution).ConfigureAwait(false);
        }
        catch (Exception ex) when (snapshot.Overflowed)
        {
            // The handler failed at (or after) a write past MaxSnapshotBytes, which fails when holding: its response
            // could never have been sent, and the transaction is rolled back already.
            stopped = ex;
            end = ExecutionEnd.ResponseNotHeld;
        }
        catch
        {
            _telemetry.TransactionEnded(feature.Activity, policy.Name, ExecutionEnd.RolledBack);
            throw;
        }

        if (end is ExecutionEnd.RolledBack && snapshot.Overflowed)
        {
            // Not kept and not held either: there is nothing true to send but that it failed.
            end = ExecutionEnd.ResponseNotHeld;
        }

        _telemetry.TransactionEnded(feature.Activity, policy.Name, end);
        switch (end)
        {
            case ExecutionEnd.Committed or ExecutionEnd.RolledBack:
                await SendHeldAsync(context, snapshot).ConfigureAwait(false);
                break;
            case ExecutionEnd.ResponseNotHeld:
                if (snapshot.Overflowed)
                {
                    IdempotencyLog.ResponseTooLargeToHold(_logger, ownership.Key, snapshot.TotalLength, policy.MaxSnapshotBytes, policy.Name, stopped);
                }

                context.Response.Clear();
                await _problems.WriteAsync(context, IdempotencyProblem.ResponseTooLarge, IdempotencyProblem.ResponseTooLarge.Detail).ConfigureAwait(false);
                break;
            default:
                context.Response.Clear();
                await _problems.WriteAsync(
                    context, IdempotencyProblem.CommitFailed, IdempotencyProblem.CommitFailed.Detail, _options.StoreUnavailableRetryAfter).ConfigureAwait(false);
                break;
        }
    }

    // The operation's outcome is settled (committed, or rolled back with a response that says so): a client that has
    // gone meanwhile changes nothing, so a failed write to it is not an error of the request.
    private static async Task SendHeldAsync(HttpContext context, SnapshotBuffer snapshot)
    {
        if (snapshot.TotalLength == 0 || HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        try
        {
            await snapshot.WriteToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (context.RequestAborted.IsCancellationRequested && ex is OperationCanceledException or IOException)
        {
        }
    }

    /// <summary>Runs the handler with its response captured; the engine renews the lease meanwhile.</summary>
[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask RunHandlerAsync(HttpContext context, ResolvedPolicy policy, IHttpResponseBodyFeature originalBody, CaptureResponseBodyFeature captureBody)
    {
        var features = context.Features;
        var lifetime = policy.CancelHandlerOnDisconnect ? null : features.Get<IHttpRequestLifetimeFeature>();
        CancellationTokenSource? serverSide = null;
        if (lifetime is not null)
        {
            // The client leaving does not stop the handler; the server's own limits still do: a request timeout set
            // by the request-timeouts middleware, and the application shutting down.
            var timeout = features.Get<IHttpRequestTimeoutFeature>()?.RequestTimeoutToken ?? default;
            var handlerToken = timeout.CanBeCanceled
                ? (serverSide = CancellationTokenSource.CreateLinkedTokenSource(timeout, _stopping)).Token
                : _stopping;
            features.Set<IHttpRequestLifetimeFeature>(new DetachedRequestLifetime(lifetime) { RequestAborted = handlerToken });
        }

        features.Set<IHttpResponseBodyFeature>(captureBody);
        try
        {
            await _next(context).ConfigureAwait(false);
            await captureBody.FlushWriterAsync().ConfigureAwait(false);
        }
        finally
        {
            features.Set(originalBody);
            if (lifetime is not null)
            {
                features.Set(lifetime);
                serverSide?.Dispose();
            }
        }
    }

    /// <summary>
    /// The snapshot of the handler's response, or <see langword="null"/> when its status is not storable or, under a
    /// transactional policy, when the response is an exception handler's answer to the handler's failure.
    /// </summary>
[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<StoredResponse?> CaptureResponseAsync(
        HttpContext context, ResolvedPolicy policy, string storeKey, ResponseCaptureStream captureStream, SnapshotBuffer snapshot, IExceptionHandlerFeature? exceptionHandledBefore)
    {
        _telemetry.SnapshotCaptured(policy.Name, snapshot.TotalLength);
        var response = context.Response;
        var statusCode = response.StatusCode;
        if (policy.Transactional && context.Features.Get<IExceptionHandlerFeature>() is { } handled && !ReferenceEquals(handled, exceptionHandledBefore))
        {
            // The handler threw half-way through its writes and an exception handler between it and this middleware
            // answered (with a 400 for a validation exception, say): keeping that answer would commit the half.
            IdempotencyLog.ExceptionHandledInside(_logger, storeKey, statusCode, policy.Name);
            return null;
        }

        bool storable;
        try
        {
            // Bounded like a store call: the lease is renewed meanwhile, so a predicate that never answered would hold
            // the record (and the request) for as long as the process lives.
            var decision = policy.IsStorableAsync(context, statusCode);
            storable = decision.IsCompleted
                ? await decision.ConfigureAwait(false)
                : await decision.AsTask().WaitAsync(_options.StoreTimeout, _engine.TimeProvider).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The handler has run: the record must be completed or released by a rule, never left to expire (a retry
            // would then run the handler again).
            IdempotencyLog.StorablePredicateFailed(_logger, policy.Name, statusCode, ex);
            storable = policy.IsStorableByDefault(statusCode);
        }

        if (!storable)
        {
            return null;
        }

        try
        {
            var headers = ResponseHeaderFilter.Capture(response.Headers, policy.ExcludedResponseHeaders, _options.ReplayedHeaderName, captureStream);
            if (snapshot.Overflowed)
            {
                IdempotencyLog.SnapshotTooLarge(_logger, storeKey, statusCode, snapshot.TotalLength);
                return new StoredResponse(statusCode, headers, ReadOnlyMemory<byte>.Empty, isBodyStored: false);
            }

            return new StoredResponse(statusCode, headers, snapshot.ToArray());
        }
        catch (Exception ex)
        {
            // The handler ran with this status: a retry is told so (not replayable, with its original status).
            IdempotencyLog.ResponseCaptureFailed(_logger, storeKey, ex);
            return new StoredResponse(statusCode, [], ReadOnlyMemory<byte>.Empty, isBodyStored: false);
        }
    }

    private Task ReplayAsync(HttpContext context, IdempotencyFeature feature, StoredResponse stored, string storeKey)
    {
        if (!stored.IsBodyStored)
        {
            RecordOutcome(feature, IdempotencyOutcome.NotReplayable);
            return _problems.WriteAsync(
                context, IdempotencyProblem.ResponseNotReplayable, IdempotencyProblem.ResponseNotReplayable.Detail,
                extensions: new ProblemExtensions("originalStatus", stored.StatusCode));
        }

        if (ContentCodingNegotiation.FindUnacceptable(stored.Headers, context.Request.Headers.AcceptEncoding) is { } coding)
        {
            IdempotencyLog.RepresentationNotAcceptable(_logger, storeKey, coding);
            RecordOutcome(feature, IdempotencyOutcome.NotAcceptable);
            return _problems.WriteAsync(
                context, IdempotencyProblem.RepresentationNotAcceptable,
                string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.RepresentationNotAcceptable.Detail, coding));
        }

        RecordTransitions.Replayed(_logger, Activity.Current, storeKey, feature.PolicyName, stored.StatusCode);
        RecordOutcome(feature, IdempotencyOutcome.Replayed);
        var response = context.Response;
        response.StatusCode = stored.StatusCode;
        var headers = response.Headers;
        var storedHeaders = stored.Headers;
        for (var i = 0; i < storedHeaders.Count; i++)
        {
            var header = storedHeaders[i];
            headers[header.Key] = header.Value;
        }

        headers[_options.ReplayedHeaderName] = TrueValue;
        var write = Task.CompletedTask;
        if (!stored.Body.IsEmpty)
        {
            response.ContentLength = stored.Body.Length;
            if (!HttpMethods.IsHead(context.Request.Method))
            {
                write = response.Body.WriteAsync(stored.Body, context.RequestAborted).AsTask();
            }
        }

        return _hooks.AfterReplayAsync(write, context, feature.PolicyName, stored.StatusCode);
    }

    private async Task StoreUnavailableAsync(HttpContext context, ResolvedPolicy policy, IdempotencyFeature feature, Exception exception)
    {
        if (policy.FailOpen)
        {
            IdempotencyLog.FailOpen(_logger, policy.Name, exception);
            RecordOutcome(feature, IdempotencyOutcome.FailOpen);
            await _hooks.FailOpenAsync(context, policy.Name, exception).ConfigureAwait(false);
            await _next(context).ConfigureAwait(false);
            return;
        }

        IdempotencyLog.StoreUnavailable(_logger, policy.Name, exception);
        RecordOutcome(feature, IdempotencyOutcome.StoreUnavailable);
        await _problems.WriteAsync(
            context, IdempotencyProblem.StoreUnavailable, IdempotencyProblem.StoreUnavailable.Detail, _options.StoreUnavailableRetryAfter).ConfigureAwait(false);
    }

    private void RecordOutcome(IdempotencyFeature feature, IdempotencyOutcome outcome)
    {
        feature.Outcome = outcome;
        _telemetry.RecordOutcome(feature.Activity, feature.PolicyName, outcome);
    }
}
