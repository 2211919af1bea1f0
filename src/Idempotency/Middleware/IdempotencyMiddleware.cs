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
using Microsoft.Extensions.DependencyInjection;
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
    private readonly IdempotencyOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ProblemResponseWriter _problems;
    private readonly IdempotencyTelemetry _telemetry;
    private readonly string _keyMissingDetail;
    private readonly string _keyInvalidDetail;
    private readonly string _sequenceMissingDetail;
    private readonly string _sequenceInvalidDetail;

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
        _next = next;
        _policies = policies;
        _store = store;
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
        _problems = new ProblemResponseWriter(_options, services.GetService<IProblemDetailsService>());
        _keyMissingDetail = string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.KeyMissing.Detail, _options.KeyHeaderName);
        _keyInvalidDetail = string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.KeyInvalid.Detail, _options.KeyHeaderName, _options.MaxKeyLength);
        _sequenceMissingDetail = string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.SequenceNumberMissing.Detail, _options.SequenceNumberHeaderName);
        _sequenceInvalidDetail = string.Format(
            CultureInfo.InvariantCulture, IdempotencyProblem.SequenceNumberInvalid.Detail,
            _options.SequenceNumberHeaderName, _options.SequenceEpochHeaderName, _options.SequenceStreamHeaderName);
    }

    public Task InvokeAsync(HttpContext context)
    {
        var policy = _policies.Resolve(context);
        if (policy is null)
        {
            return _next(context);
        }

        return policy.Sequence != SequenceRequirement.Off && context.Request.Headers.ContainsKey(_options.SequenceNumberHeaderName)
            ? InvokeSequencedAsync(context, policy)
            : InvokeKeyedAsync(context, policy);
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

        var recordKey = RecordKey.Create(policy.ScopeResolver(context), key!);
        var fingerprint = await RequestFingerprinter.ComputeAsync(
            context.Request, policy.FingerprintComponents, policy.CanonicalJsonFingerprint, extra: null, context.RequestAborted).ConfigureAwait(false);

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
        catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            await StoreUnavailableAsync(context, policy, activity, ex).ConfigureAwait(false);
            return;
        }

        switch (begin.Status)
        {
            case IdempotencyBeginStatus.Acquired:
                _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.Executed);
                await ExecuteAsync(context, policy, new Ownership(_store, _telemetry, policy, recordKey, begin.FencingToken, isStream: false)).ConfigureAwait(false);
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
        var streamValid = stream is null
            ? SequenceHeaderParser.ParseStream(headers[_options.SequenceStreamHeaderName], out stream) != KeyParseStatus.Invalid
            : SequenceHeaderParser.IsValidStream(stream);
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

        var streamKey = RecordKey.CreateStream(policy.ScopeResolver(context), stream ?? DefaultStream);
        var fingerprint = await RequestFingerprinter.ComputeAsync(
            context.Request, policy.FingerprintComponents, policy.CanonicalJsonFingerprint, extra: key, context.RequestAborted).ConfigureAwait(false);

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
        catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            await StoreUnavailableAsync(context, policy, activity, ex).ConfigureAwait(false);
            return;
        }

        switch (begin.Status)
        {
            case SequenceBeginStatus.Acquired:
                _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.Executed);
                await ExecuteAsync(context, policy, new Ownership(_store, _telemetry, policy, streamKey, begin.FencingToken, isStream: true)).ConfigureAwait(false);
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

    private static bool ShouldHold(SequenceBeginStatus status, ResolvedPolicy policy)
        => (status == SequenceBeginStatus.Gap && policy.ReorderWait > TimeSpan.Zero)
            || (status == SequenceBeginStatus.InFlight && policy.WaitForConcurrent);

    private async Task ExecuteAsync(HttpContext context, ResolvedPolicy policy, Ownership ownership)
    {
        IdempotencyLog.Executing(_logger, ownership.Key, policy.Name);
        var originalBody = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        using var snapshot = new SnapshotBuffer(policy.MaxSnapshotBytes);
        var captureStream = new ResponseCaptureStream(originalBody.Stream, snapshot, context.RequestAborted);
        var captureBody = new CaptureResponseBodyFeature(originalBody, captureStream);
        var renewal = new LeaseRenewal(ownership, policy.RenewalInterval, _options.StoreTimeout, _timeProvider, _logger);

        var handlerCompleted = false;
        context.Features.Set<IHttpResponseBodyFeature>(captureBody);
        try
        {
            await _next(context).ConfigureAwait(false);
            await captureBody.FlushWriterAsync().ConfigureAwait(false);
            handlerCompleted = true;
        }
        finally
        {
            context.Features.Set(originalBody);
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

        var headers = ResponseHeaderFilter.Capture(response.Headers, policy.ExcludedResponseHeaders, _options.ReplayedHeaderName);
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

    private ValueTask<SequenceBeginResult> BeginSequenceAsync(string streamKey, long epoch, long number, byte[] fingerprint, ResolvedPolicy policy)
    {
        var timeout = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _timeProvider);
        var started = _timeProvider.GetTimestamp();
        return WaitForBeginAsync(
            _telemetry.TimeStoreCall(
                Stopwatch.GetTimestamp(), _store.TryBeginSequenceAsync(streamKey, epoch, number, fingerprint, policy.Lease, timeout.Token), "begin_sequence"),
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
