using System.Diagnostics;
using System.Globalization;
using Idempotency.Capture;
using Idempotency.Diagnostics;
using Idempotency.Fingerprinting;
using Idempotency.Headers;
using Idempotency.Policies;
using Idempotency.Problems;
using Idempotency.Storage;
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
/// Deduplicates requests by idempotency key (SPEC §3) or orders them by sequence number (SPEC §4): the first request
/// runs and its response is recorded; retries get the recorded response; conflicting, concurrent, early and stale
/// requests get problem responses.
/// </summary>
internal sealed class IdempotencyMiddleware
{
    private const string DefaultStream = "default";
    private static readonly StringValues TrueValue = new("true");

    private readonly RequestDelegate _next;
    private readonly IdempotencyPolicyResolver _policies;
    private readonly IIdempotencyStore _store;
    private readonly IIdempotencySequenceStore? _sequenceStore;
    private readonly IdempotencyOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ProblemResponseWriter _problems;
    private readonly IdempotencyTelemetry _telemetry;
    private readonly PipelineOrder _pipelineOrder;
    private readonly CancellationToken _stopping;
    private readonly string _keyMissingDetail;
    private readonly string _keyInvalidDetail;
    private readonly string _sequenceMissingDetail;
    private readonly string _sequenceInvalidDetail;
    private readonly string _sequenceStreamInvalidDetail;

    public IdempotencyMiddleware(
        RequestDelegate next,
        IdempotencyPolicyResolver policies,
        IIdempotencyStore store,
        IOptions<IdempotencyOptions> options,
        TimeProvider timeProvider,
        ILogger<IdempotencyMiddleware> logger,
        IdempotencyTelemetry telemetry,
        IServiceProvider services)
    {
        _telemetry = telemetry;
        _pipelineOrder = new PipelineOrder(services);
        _stopping = services.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? default;
        _next = next;
        _policies = policies;
        _store = store;
        _sequenceStore = services.GetService<IIdempotencySequenceStore>();
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
        _problems = new ProblemResponseWriter(_options, services.GetService<IProblemDetailsService>());
        _keyMissingDetail = string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.KeyMissing.Detail, _options.KeyHeaderName);
        _keyInvalidDetail = string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.KeyInvalid.Detail, _options.KeyHeaderName, _options.MaxKeyLength);
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
        if (policy.Sequence == SequenceRequirement.Required)
        {
            IdempotencyLog.SequenceMissing(_logger, policy.Name);
            _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.MissingSequence);
            await _problems.WriteAsync(context, IdempotencyProblem.SequenceNumberMissing, _sequenceMissingDetail).ConfigureAwait(false);
            return;
        }

        var keyStatus = IdempotencyKeyParser.Parse(context.Request.Headers[_options.KeyHeaderName], _options.MaxKeyLength, out var key);
        if (keyStatus == KeyParseStatus.Missing)
        {
            if (!policy.KeyRequired)
            {
                _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.PassThrough);
                await _next(context).ConfigureAwait(false);
                return;
            }

            IdempotencyLog.KeyMissing(_logger, policy.Name);
            _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.MissingKey);
            await _problems.WriteAsync(context, IdempotencyProblem.KeyMissing, _keyMissingDetail).ConfigureAwait(false);
            return;
        }

        if (keyStatus == KeyParseStatus.Invalid)
        {
            IdempotencyLog.KeyInvalid(_logger, policy.Name);
            _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.Invalid);
            await _problems.WriteAsync(context, IdempotencyProblem.KeyInvalid, _keyInvalidDetail).ConfigureAwait(false);
            return;
        }

        var recordKey = RecordKey.Create(policy.ResolveScope(context), key!);
        var fingerprint = await FingerprintAsync(context, policy, activity, extra: null).ConfigureAwait(false);
        if (fingerprint is null)
        {
            return;
        }

        IdempotencyBeginResult begin;
        try
        {
            begin = await BeginAsync(recordKey, fingerprint, policy).ConfigureAwait(false);
            if (begin.Status == IdempotencyBeginStatus.InFlight && policy.WaitForConcurrent)
            {
                var backoff = new PollingBackoff(_timeProvider, policy.ConcurrentWaitTimeout);
                while (begin.Status == IdempotencyBeginStatus.InFlight && await backoff.DelayAsync(context.RequestAborted).ConfigureAwait(false))
                {
                    begin = await BeginAsync(recordKey, fingerprint, policy).ConfigureAwait(false);
                }
            }
        }
        catch (IdempotencyStoreCapacityException ex)
        {
            await StoreCapacityAsync(context, policy, activity, recordKey, ex).ConfigureAwait(false);
            return;
        }
        catch (Exception ex) when (IsUnavailability(ex) && !context.RequestAborted.IsCancellationRequested)
        {
            await StoreUnavailableAsync(context, policy, activity, ex).ConfigureAwait(false);
            return;
        }
        catch (InvalidDataException ex)
        {
            await RecordUnreadableAsync(context, policy, activity, recordKey, ex).ConfigureAwait(false);
            return;
        }

        switch (begin.Status)
        {
            case IdempotencyBeginStatus.Acquired:
                _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.Executed);
                await ExecuteAsync(context, policy, new Ownership(_store, _sequenceStore, _telemetry, policy, recordKey, begin.FencingToken, isStream: false)).ConfigureAwait(false);
                break;
            case IdempotencyBeginStatus.Completed:
                await ReplayAsync(context, policy, activity, begin.Response!, recordKey).ConfigureAwait(false);
                break;
            case IdempotencyBeginStatus.FingerprintMismatch:
                await KeyReusedAsync(context, policy, activity, recordKey).ConfigureAwait(false);
                break;
            default:
                await InFlightAsync(context, policy, activity, recordKey).ConfigureAwait(false);
                break;
        }
    }

    private async Task InvokeSequencedAsync(HttpContext context, ResolvedPolicy policy)
    {
        using var activity = IdempotencyTelemetry.StartRequest(policy.Name, sequenced: true);
        var headers = context.Request.Headers;
        var numberStatus = SequenceHeaderParser.ParseNumber(headers[_options.SequenceNumberHeaderName], minimum: 1, out var number);
        var epochStatus = SequenceHeaderParser.ParseNumber(headers[_options.SequenceEpochHeaderName], minimum: 0, out var epoch);
        var stream = policy.SequenceStreamResolver?.Invoke(context);
        if (stream is not null && !SequenceHeaderParser.IsValidResolvedStream(stream))
        {
            // The name came from the request through the application's resolver (a route value, say), not from the
            // client's Sequence-Stream header, so the answer must not blame that header.
            IdempotencyLog.SequenceInvalid(_logger, policy.Name);
            _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.Invalid);
            await _problems.WriteAsync(context, IdempotencyProblem.SequenceStreamInvalid, _sequenceStreamInvalidDetail).ConfigureAwait(false);
            return;
        }

        var streamValid = stream is not null
            || SequenceHeaderParser.ParseStream(headers[_options.SequenceStreamHeaderName], out stream) != KeyParseStatus.Invalid;
        if (numberStatus != KeyParseStatus.Valid || epochStatus == KeyParseStatus.Invalid || !streamValid)
        {
            IdempotencyLog.SequenceInvalid(_logger, policy.Name);
            _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.Invalid);
            await _problems.WriteAsync(context, IdempotencyProblem.SequenceNumberInvalid, _sequenceInvalidDetail).ConfigureAwait(false);
            return;
        }

        // With a sequence number the key no longer identifies the operation, but a retry must still carry the same
        // key, so it joins the fingerprint.
        var keyStatus = IdempotencyKeyParser.Parse(headers[_options.KeyHeaderName], _options.MaxKeyLength, out var key);
        if (keyStatus == KeyParseStatus.Invalid)
        {
            IdempotencyLog.KeyInvalid(_logger, policy.Name);
            _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.Invalid);
            await _problems.WriteAsync(context, IdempotencyProblem.KeyInvalid, _keyInvalidDetail).ConfigureAwait(false);
            return;
        }

        var streamKey = RecordKey.CreateStream(policy.ResolveScope(context), stream ?? DefaultStream);
        var fingerprint = await FingerprintAsync(context, policy, activity, extra: key).ConfigureAwait(false);
        if (fingerprint is null)
        {
            return;
        }

        SequenceBeginResult begin;
        try
        {
            begin = await BeginSequenceAsync(streamKey, epoch, number, fingerprint, policy).ConfigureAwait(false);
            if (ShouldHold(begin.Status, policy))
            {
                // One budget for both kinds of holding: a request held for its gap that then finds its number in
                // flight keeps waiting only if the policy also waits for concurrent duplicates.
                var limit = policy.ReorderWait > policy.ConcurrentWaitTimeout ? policy.ReorderWait : policy.ConcurrentWaitTimeout;
                var backoff = new PollingBackoff(_timeProvider, limit);
                while (ShouldHold(begin.Status, policy) && await backoff.DelayAsync(context.RequestAborted).ConfigureAwait(false))
                {
                    begin = await BeginSequenceAsync(streamKey, epoch, number, fingerprint, policy).ConfigureAwait(false);
                }
            }
        }
        catch (IdempotencyStoreCapacityException ex)
        {
            await StoreCapacityAsync(context, policy, activity, streamKey, ex).ConfigureAwait(false);
            return;
        }
        catch (Exception ex) when (IsUnavailability(ex) && !context.RequestAborted.IsCancellationRequested)
        {
            await StoreUnavailableAsync(context, policy, activity, ex).ConfigureAwait(false);
            return;
        }
        catch (InvalidDataException ex)
        {
            await RecordUnreadableAsync(context, policy, activity, streamKey, ex).ConfigureAwait(false);
            return;
        }

        switch (begin.Status)
        {
            case SequenceBeginStatus.Acquired:
                _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.Executed);
                await ExecuteAsync(context, policy, new Ownership(_store, _sequenceStore, _telemetry, policy, streamKey, begin.FencingToken, isStream: true)).ConfigureAwait(false);
                break;
            case SequenceBeginStatus.Completed:
                await ReplayAsync(context, policy, activity, begin.Response!, streamKey).ConfigureAwait(false);
                break;
            case SequenceBeginStatus.FingerprintMismatch:
                await KeyReusedAsync(context, policy, activity, streamKey).ConfigureAwait(false);
                break;
            case SequenceBeginStatus.InFlight:
                await InFlightAsync(context, policy, activity, streamKey).ConfigureAwait(false);
                break;
            case SequenceBeginStatus.Gap:
                IdempotencyLog.SequenceGap(_logger, streamKey, number, begin.LastSequence);
                _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.SequenceGap);
                await _problems.WriteAsync(
                    context, IdempotencyProblem.SequenceGap, IdempotencyProblem.SequenceGap.Detail,
                    extensions: new ProblemExtensions("expectedSequence", begin.LastSequence + 1, "lastSequence", begin.LastSequence)).ConfigureAwait(false);
                break;
            case SequenceBeginStatus.AlreadyApplied:
                IdempotencyLog.SequenceAlreadyApplied(_logger, streamKey, number, begin.LastSequence);
                _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.AlreadyApplied);
                await _problems.WriteAsync(
                    context, IdempotencyProblem.SequenceAlreadyApplied, IdempotencyProblem.SequenceAlreadyApplied.Detail,
                    extensions: new ProblemExtensions("lastSequence", begin.LastSequence)).ConfigureAwait(false);
                break;
            default:
                IdempotencyLog.SequenceEpochFenced(_logger, streamKey, epoch, begin.CurrentEpoch);
                _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.Fenced);
                await _problems.WriteAsync(
                    context, IdempotencyProblem.SequenceEpochFenced, IdempotencyProblem.SequenceEpochFenced.Detail,
                    extensions: new ProblemExtensions("currentEpoch", begin.CurrentEpoch)).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>The request's fingerprint, or <see langword="null"/> once a body the server refused to read has been answered.</summary>
    private async ValueTask<byte[]?> FingerprintAsync(HttpContext context, ResolvedPolicy policy, Activity? activity, string? extra)
    {
        try
        {
            return await RequestFingerprinter.ComputeAsync(
                context.Request, policy.FingerprintComponents, policy.CanonicalJsonFingerprint, policy.MaxCanonicalJsonBytes, extra, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel refuses a body over MaxRequestBodySize (413) or with malformed framing (400) as it is read: the
            // client's error, answered with the server's status before any store call.
            IdempotencyLog.RequestBodyInvalid(_logger, policy.Name, ex.StatusCode);
            _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.Invalid);
            await _problems.WriteAsync(
                context, IdempotencyProblem.RequestBodyInvalid,
                string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.RequestBodyInvalid.Detail, ex.Message),
                status: ex.StatusCode).ConfigureAwait(false);
            return null;
        }
    }

    private static bool ShouldHold(SequenceBeginStatus status, ResolvedPolicy policy)
        => (status == SequenceBeginStatus.Gap && policy.ReorderWait > TimeSpan.Zero)
            || (status == SequenceBeginStatus.InFlight && policy.WaitForConcurrent);

    private async Task ExecuteAsync(HttpContext context, ResolvedPolicy policy, Ownership ownership)
    {
        IdempotencyLog.Executing(_logger, ownership.Key, policy.Name);
        var originalBody = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        using var snapshot = new SnapshotBuffer(policy.MaxSnapshotBytes);
        var captureStream = new ResponseCaptureStream(originalBody.Stream, snapshot, context.RequestAborted, context.Response.Headers);
        var captureBody = new CaptureResponseBodyFeature(originalBody, captureStream);
        var renewal = new LeaseRenewal(ownership, policy.RenewalInterval, _options.StoreTimeout, _timeProvider, _logger);

        var handlerCompleted = false;
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
            handlerCompleted = true;
        }
        finally
        {
            features.Set(originalBody);
            if (lifetime is not null)
            {
                features.Set(lifetime);
                serverSide?.Dispose();
            }

            await renewal.DisposeAsync().ConfigureAwait(false);
            if (!handlerCompleted)
            {
                await ReleaseAsync(ownership, "the handler threw").ConfigureAwait(false);
            }
        }

        _telemetry.SnapshotCaptured(policy.Name, snapshot.TotalLength);
        var response = context.Response;
        var statusCode = response.StatusCode;
        if (!policy.IsStorable(statusCode))
        {
            await ReleaseAsync(ownership, "status not storable").ConfigureAwait(false);
            return;
        }

        var headers = ResponseHeaderFilter.Capture(response.Headers, policy.ExcludedResponseHeaders, _options.ReplayedHeaderName, captureStream);
        StoredResponse stored;
        if (snapshot.Overflowed)
        {
            IdempotencyLog.SnapshotTooLarge(_logger, ownership.Key, statusCode, snapshot.TotalLength);
            stored = new StoredResponse(statusCode, headers, ReadOnlyMemory<byte>.Empty, isBodyStored: false);
        }
        else
        {
            stored = new StoredResponse(statusCode, headers, snapshot.ToArray());
        }

        try
        {
            if (!await WithTimeout(ownership.CompleteAsync(stored)).ConfigureAwait(false))
            {
                IdempotencyLog.CompletionFenced(_logger, ownership.Key);
                if (!renewal.Lost)
                {
                    _telemetry.LeaseLost();
                }
            }
        }
        catch (Exception ex)
        {
            // The response has reached the client already; all that is lost is the record, which expires with its lease.
            IdempotencyLog.CompletionFailed(_logger, ownership.Key, ex);
        }
    }

    private Task ReplayAsync(HttpContext context, ResolvedPolicy policy, Activity? activity, StoredResponse stored, string storeKey)
    {
        if (!stored.IsBodyStored)
        {
            _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.NotReplayable);
            return _problems.WriteAsync(
                context, IdempotencyProblem.ResponseNotReplayable, IdempotencyProblem.ResponseNotReplayable.Detail,
                extensions: new ProblemExtensions("originalStatus", stored.StatusCode));
        }

        if (ContentCodingNegotiation.FindUnacceptable(stored.Headers, context.Request.Headers.AcceptEncoding) is { } coding)
        {
            IdempotencyLog.RepresentationNotAcceptable(_logger, storeKey, coding);
            _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.NotAcceptable);
            return _problems.WriteAsync(
                context, IdempotencyProblem.RepresentationNotAcceptable,
                string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.RepresentationNotAcceptable.Detail, coding));
        }

        IdempotencyLog.Replayed(_logger, stored.StatusCode, storeKey);
        _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.Replayed);
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
        if (stored.Body.IsEmpty)
        {
            return Task.CompletedTask;
        }

        response.ContentLength = stored.Body.Length;
        return HttpMethods.IsHead(context.Request.Method)
            ? Task.CompletedTask
            : response.Body.WriteAsync(stored.Body, context.RequestAborted).AsTask();
    }

    private Task KeyReusedAsync(HttpContext context, ResolvedPolicy policy, Activity? activity, string storeKey)
    {
        IdempotencyLog.FingerprintMismatch(_logger, storeKey);
        _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.Mismatch);
        return _problems.WriteAsync(context, IdempotencyProblem.KeyReused, IdempotencyProblem.KeyReused.Detail);
    }

    private Task InFlightAsync(HttpContext context, ResolvedPolicy policy, Activity? activity, string storeKey)
    {
        IdempotencyLog.InFlight(_logger, storeKey);
        _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.InFlight);
        return _problems.WriteAsync(
            context, IdempotencyProblem.RequestInFlight, IdempotencyProblem.RequestInFlight.Detail, _options.InFlightRetryAfter);
    }

    private async Task StoreUnavailableAsync(HttpContext context, ResolvedPolicy policy, Activity? activity, Exception exception)
    {
        if (policy.FailOpen)
        {
            IdempotencyLog.FailOpen(_logger, policy.Name, exception);
            _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.FailOpen);
            await _next(context).ConfigureAwait(false);
            return;
        }

        IdempotencyLog.StoreUnavailable(_logger, policy.Name, exception);
        _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.StoreUnavailable);
        await _problems.WriteAsync(
            context, IdempotencyProblem.StoreUnavailable, IdempotencyProblem.StoreUnavailable.Detail, _options.StoreUnavailableRetryAfter).ConfigureAwait(false);
    }

    // Room, not reachability: the store answered, so this is never unavailability and never fails open (a caller who
    // fills the store must not switch protection off). The handler has not run and nothing was written.
    private Task StoreCapacityAsync(HttpContext context, ResolvedPolicy policy, Activity? activity, string storeKey, IdempotencyStoreCapacityException exception)
    {
        if (exception.Reason == StoreCapacityReason.ScopeQuotaExceeded)
        {
            IdempotencyLog.QuotaExceeded(_logger, storeKey, policy.Name, exception);
            _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.QuotaExceeded);
            return _problems.WriteAsync(context, IdempotencyProblem.QuotaExceeded, IdempotencyProblem.QuotaExceeded.Detail, exception.RetryAfter);
        }

        IdempotencyLog.StoreFull(_logger, policy.Name, exception);
        _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.StoreFull);
        return _problems.WriteAsync(context, IdempotencyProblem.StoreFull, IdempotencyProblem.StoreFull.Detail, exception.RetryAfter);
    }

    // Only a store that cannot answer may be answered 503 or fail open. Anything else (a record this version cannot
    // read, a bug in a store) says nothing about whether the operation already ran, so running the handler because of
    // it could run the operation twice.
    private static bool IsUnavailability(Exception exception)
        => exception is IdempotencyStoreUnavailableException or TimeoutException;

    private Task RecordUnreadableAsync(HttpContext context, ResolvedPolicy policy, Activity? activity, string storeKey, InvalidDataException exception)
    {
        IdempotencyLog.RecordUnreadable(_logger, storeKey, policy.Name, exception);
        _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.RecordUnreadable);
        return _problems.WriteAsync(context, IdempotencyProblem.RecordUnreadable, IdempotencyProblem.RecordUnreadable.Detail);
    }

    private async Task ReleaseAsync(Ownership ownership, string reason)
    {
        try
        {
            await WithTimeout(ownership.ReleaseAsync()).ConfigureAwait(false);
            IdempotencyLog.Released(_logger, ownership.Key, reason);
        }
        catch (Exception ex)
        {
            IdempotencyLog.ReleaseFailed(_logger, ownership.Key, ex);
        }
    }

    // A begin is not tied to the request's cancellation: an abort half-way through a store operation could leave a
    // record acquired by nobody until its lease ran out. StoreTimeout bounds it instead, and also cancels it: once the
    // client has been told 503 ("not processed, retry"), a begin still waiting inside the store (for example for a
    // connection to a Redis that was down) must not reach the store later, or it would create a record nobody owns and
    // answer that retry with 409 until the lease ran out.
    private ValueTask<IdempotencyBeginResult> BeginAsync(string recordKey, byte[] fingerprint, ResolvedPolicy policy)
    {
        var timeout = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _timeProvider);
        var started = _timeProvider.GetTimestamp();
        return WaitForBeginAsync(
            _telemetry.TimeStoreCall(
                Stopwatch.GetTimestamp(), _store.TryBeginAsync(recordKey, fingerprint, policy.Lease, timeout.Token), "begin"),
            timeout,
            started);
    }

    // Start-up refuses a policy that needs sequences on a store without them (StoreRequirementsValidator); this only
    // guards an application that skipped start-up validation.
    private IIdempotencySequenceStore SequenceStore => _sequenceStore ?? throw new InvalidOperationException(
        $"The registered idempotency store {_store.GetType().Name} does not implement {nameof(IIdempotencySequenceStore)}, which policies with sequence numbers need.");

    private ValueTask<SequenceBeginResult> BeginSequenceAsync(string streamKey, long epoch, long number, byte[] fingerprint, ResolvedPolicy policy)
    {
        var timeout = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _timeProvider);
        var started = _timeProvider.GetTimestamp();
        return WaitForBeginAsync(
            _telemetry.TimeStoreCall(
                Stopwatch.GetTimestamp(), SequenceStore.TryBeginSequenceAsync(streamKey, epoch, number, fingerprint, policy.Lease, timeout.Token), "begin_sequence"),
            timeout,
            started);
    }

    // The timer starts only for a begin that did not complete at once (the in-memory store never needs one), and counts
    // from before the call, so time a store spends before returning its task (a first connection attempt) is included.
    // The wait uses the store's own token, so the middleware never gives up before the store's token is cancelled (a
    // second timer could fire first, and disposing an uncancelled source would leave the store's token live); the wait
    // also bounds stores that ignore the token.
    private ValueTask<T> WaitForBeginAsync<T>(ValueTask<T> operation, CancellationTokenSource timeout, long startedTimestamp)
    {
        if (operation.IsCompleted)
        {
            timeout.Dispose();
            return operation;
        }

        var remaining = _options.StoreTimeout - _timeProvider.GetElapsedTime(startedTimestamp);
        if (remaining > TimeSpan.Zero)
        {
            timeout.CancelAfter(remaining);
        }
        else
        {
            timeout.Cancel();
        }

        return AwaitBeginAsync(operation, timeout, _options.StoreTimeout);
    }

    private static async ValueTask<T> AwaitBeginAsync<T>(ValueTask<T> operation, CancellationTokenSource timeout, TimeSpan storeTimeout)
    {
        using (timeout)
        {
            try
            {
                return await operation.AsTask().WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (timeout.IsCancellationRequested)
            {
                throw new TimeoutException($"The idempotency store did not answer within {storeTimeout}.", ex);
            }
        }
    }

    // Store calls are not tied to the request's cancellation (an abort half-way through begin could leave a record
    // acquired by nobody until its lease ran out); StoreTimeout bounds them instead.
    private ValueTask<T> WithTimeout<T>(ValueTask<T> operation)
        => operation.IsCompleted
            ? operation
            : new ValueTask<T>(operation.AsTask().WaitAsync(_options.StoreTimeout, _timeProvider));
}
