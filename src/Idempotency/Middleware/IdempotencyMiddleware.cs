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
/// Deduplicates requests by idempotency key: the first request with a key runs and its response is recorded;
/// retries get the recorded response; conflicting and concurrent duplicates get problem responses (SPEC §3).
/// </summary>
internal sealed class IdempotencyMiddleware
{
    private static readonly StringValues TrueValue = new("true");

    private readonly RequestDelegate _next;
    private readonly IdempotencyPolicyResolver _policies;
    private readonly IIdempotencyStore _store;
    private readonly IdempotencyOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ProblemResponseWriter _problems;
    private readonly string _keyMissingDetail;
    private readonly string _keyInvalidDetail;

    public IdempotencyMiddleware(
        RequestDelegate next,
        IdempotencyPolicyResolver policies,
        IIdempotencyStore store,
        IOptions<IdempotencyOptions> options,
        TimeProvider timeProvider,
        ILogger<IdempotencyMiddleware> logger,
        IServiceProvider services)
    {
        _next = next;
        _policies = policies;
        _store = store;
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
        _problems = new ProblemResponseWriter(_options, services.GetService<IProblemDetailsService>());
        _keyMissingDetail = string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.KeyMissing.Detail, _options.KeyHeaderName);
        _keyInvalidDetail = string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.KeyInvalid.Detail, _options.KeyHeaderName, _options.MaxKeyLength);
    }

    public Task InvokeAsync(HttpContext context)
    {
        var policy = _policies.Resolve(context);
        return policy is null ? _next(context) : InvokeIdempotentAsync(context, policy);
    }

    private async Task InvokeIdempotentAsync(HttpContext context, ResolvedPolicy policy)
    {
        var keyStatus = IdempotencyKeyParser.Parse(context.Request.Headers[_options.KeyHeaderName], _options.MaxKeyLength, out var key);
        if (keyStatus == KeyParseStatus.Missing)
        {
            if (!policy.KeyRequired)
            {
                await _next(context).ConfigureAwait(false);
                return;
            }

            IdempotencyLog.KeyMissing(_logger, policy.Name);
            await _problems.WriteAsync(context, IdempotencyProblem.KeyMissing, _keyMissingDetail).ConfigureAwait(false);
            return;
        }

        if (keyStatus == KeyParseStatus.Invalid)
        {
            IdempotencyLog.KeyInvalid(_logger, policy.Name);
            await _problems.WriteAsync(context, IdempotencyProblem.KeyInvalid, _keyInvalidDetail).ConfigureAwait(false);
            return;
        }

        var recordKey = RecordKey.Create(policy.ScopeResolver(context), key!);
        var fingerprint = await RequestFingerprinter.ComputeAsync(
            context.Request, policy.FingerprintComponents, policy.CanonicalJsonFingerprint, extra: null, context.RequestAborted).ConfigureAwait(false);

        IdempotencyBeginResult begin;
        try
        {
            begin = await BeginAsync(recordKey, fingerprint, policy.Lease).ConfigureAwait(false);
            if (begin.Status == IdempotencyBeginStatus.InFlight && policy.WaitForConcurrent)
            {
                begin = await WaitForOriginalAsync(recordKey, fingerprint, policy, context.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            if (policy.FailOpen)
            {
                IdempotencyLog.FailOpen(_logger, policy.Name, ex);
                await _next(context).ConfigureAwait(false);
                return;
            }

            IdempotencyLog.StoreUnavailable(_logger, policy.Name, ex);
            await _problems.WriteAsync(
                context, IdempotencyProblem.StoreUnavailable, IdempotencyProblem.StoreUnavailable.Detail, _options.StoreUnavailableRetryAfter).ConfigureAwait(false);
            return;
        }

        switch (begin.Status)
        {
            case IdempotencyBeginStatus.Acquired:
                IdempotencyLog.Executing(_logger, recordKey, policy.Name);
                await ExecuteAsync(context, policy, recordKey, begin.FencingToken).ConfigureAwait(false);
                break;
            case IdempotencyBeginStatus.Completed:
                await ReplayAsync(context, begin.Response!, recordKey).ConfigureAwait(false);
                break;
            case IdempotencyBeginStatus.FingerprintMismatch:
                IdempotencyLog.FingerprintMismatch(_logger, recordKey);
                await _problems.WriteAsync(context, IdempotencyProblem.KeyReused, IdempotencyProblem.KeyReused.Detail).ConfigureAwait(false);
                break;
            default:
                IdempotencyLog.InFlight(_logger, recordKey);
                await _problems.WriteAsync(
                    context, IdempotencyProblem.RequestInFlight, IdempotencyProblem.RequestInFlight.Detail, _options.InFlightRetryAfter).ConfigureAwait(false);
                break;
        }
    }

    private async Task ExecuteAsync(HttpContext context, ResolvedPolicy policy, string recordKey, long fencingToken)
    {
        var originalBody = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        using var snapshot = new SnapshotBuffer(policy.MaxSnapshotBytes);
        var captureStream = new ResponseCaptureStream(originalBody.Stream, snapshot, context.RequestAborted);
        var captureBody = new CaptureResponseBodyFeature(originalBody, captureStream);
        var renewal = new LeaseRenewal(_store, recordKey, fencingToken, policy.Lease, policy.RenewalInterval, _options.StoreTimeout, _timeProvider, _logger);

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
                await ReleaseAsync(recordKey, fencingToken, "the handler threw").ConfigureAwait(false);
            }
        }

        var response = context.Response;
        var statusCode = response.StatusCode;
        if (!policy.IsStorable(statusCode))
        {
            await ReleaseAsync(recordKey, fencingToken, "status not storable").ConfigureAwait(false);
            return;
        }

        var headers = ResponseHeaderFilter.Capture(response.Headers, policy.ExcludedResponseHeaders, _options.ReplayedHeaderName);
        StoredResponse stored;
        if (snapshot.Overflowed)
        {
            IdempotencyLog.SnapshotTooLarge(_logger, recordKey, statusCode, snapshot.TotalLength);
            stored = new StoredResponse(statusCode, headers, ReadOnlyMemory<byte>.Empty, isBodyStored: false);
        }
        else
        {
            stored = new StoredResponse(statusCode, headers, snapshot.ToArray());
        }

        try
        {
            var completed = await WithTimeout(_store.CompleteAsync(recordKey, fencingToken, stored, policy.Retention, CancellationToken.None)).ConfigureAwait(false);
            if (!completed)
            {
                IdempotencyLog.CompletionFenced(_logger, recordKey);
            }
        }
        catch (Exception ex)
        {
            // The response has reached the client already; all that is lost is the record, which expires with its lease.
            IdempotencyLog.CompletionFailed(_logger, recordKey, ex);
        }
    }

    private Task ReplayAsync(HttpContext context, StoredResponse stored, string recordKey)
    {
        if (!stored.IsBodyStored)
        {
            return _problems.WriteAsync(
                context, IdempotencyProblem.ResponseNotReplayable, IdempotencyProblem.ResponseNotReplayable.Detail,
                extensionName: "originalStatus", extensionValue: stored.StatusCode);
        }

        IdempotencyLog.Replayed(_logger, stored.StatusCode, recordKey);
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

    private async Task<IdempotencyBeginResult> WaitForOriginalAsync(string recordKey, byte[] fingerprint, ResolvedPolicy policy, CancellationToken cancellationToken)
    {
        // Polling through the store works the same for every store and every instance; the back-off keeps a long
        // handler from costing more than a few store calls per second per waiting request.
        var started = _timeProvider.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(10);
        var maxDelay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            var remaining = policy.ConcurrentWaitTimeout - _timeProvider.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                return IdempotencyBeginResult.InFlight();
            }

            await Task.Delay(delay < remaining ? delay : remaining, _timeProvider, cancellationToken).ConfigureAwait(false);
            delay = delay * 2 < maxDelay ? delay * 2 : maxDelay;
            var result = await BeginAsync(recordKey, fingerprint, policy.Lease).ConfigureAwait(false);
            if (result.Status != IdempotencyBeginStatus.InFlight)
            {
                return result;
            }
        }
    }

    // The begin call is not tied to the request's cancellation: an abort half-way through a store operation could
    // leave a record acquired by nobody until its lease ran out. StoreTimeout bounds it instead, and also cancels it:
    // once the client has been told 503 ("not processed, retry"), a begin still waiting inside the store (for example
    // for a connection to a Redis that was down) must not reach the store later, or it would create a record nobody
    // owns and answer that retry with 409 until the lease ran out. The wait uses the same token, so the middleware
    // never stops waiting before the store's token is cancelled (a second timer could fire first, and disposing an
    // uncancelled source would leave the store's token live); the wait also bounds stores that ignore the token.
    private async ValueTask<IdempotencyBeginResult> BeginAsync(string recordKey, byte[] fingerprint, TimeSpan lease)
    {
        using var timeout = new CancellationTokenSource(_options.StoreTimeout, _timeProvider);
        var operation = _store.TryBeginAsync(recordKey, fingerprint, lease, timeout.Token);
        if (operation.IsCompleted)
        {
            return await operation.ConfigureAwait(false);
        }

        try
        {
            return await operation.AsTask().WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"The idempotency store did not answer within {_options.StoreTimeout}.", ex);
        }
    }

    private async Task ReleaseAsync(string recordKey, long fencingToken, string reason)
    {
        try
        {
            await WithTimeout(_store.ReleaseAsync(recordKey, fencingToken, CancellationToken.None)).ConfigureAwait(false);
            IdempotencyLog.Released(_logger, recordKey, reason);
        }
        catch (Exception ex)
        {
            IdempotencyLog.ReleaseFailed(_logger, recordKey, ex);
        }
    }

    private ValueTask<T> WithTimeout<T>(ValueTask<T> operation)
        => operation.IsCompleted
            ? operation
            : new ValueTask<T>(operation.AsTask().WaitAsync(_options.StoreTimeout, _timeProvider));
}
