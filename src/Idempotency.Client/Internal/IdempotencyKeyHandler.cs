using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;

namespace Idempotency.Client.Internal;

/// <summary>
/// Gives each logical request of <see cref="IdempotencyClientOptions.Methods"/> one idempotency key (and, when asked,
/// one sequence number) and retries the server's in-flight and store-unavailable problems with that same key after
/// their <c>Retry-After</c>. It must be the outermost handler: everything inside it, a resilience handler included,
/// re-sends or clones a message that already carries the key.
/// </summary>
internal sealed class IdempotencyKeyHandler : DelegatingHandler
{
    private readonly string _clientName;
    private readonly IdempotencyClientOptions _options;
    private readonly SequenceCounters _counters;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly string _inFlightType;
    private readonly string _storeUnavailableType;
    private readonly string _storeFullType;
    private readonly string _sequenceGapType;

    public IdempotencyKeyHandler(string clientName, IdempotencyClientOptions options, SequenceCounters counters, TimeProvider timeProvider, ILogger logger)
    {
        _clientName = clientName;
        _options = options;
        _counters = counters;
        _timeProvider = timeProvider;
        _logger = logger;
        _inFlightType = options.ProblemTypeBaseUri + "idempotency-request-in-flight";
        _storeUnavailableType = options.ProblemTypeBaseUri + "idempotency-store-unavailable";
        _storeFullType = options.ProblemTypeBaseUri + "idempotency-store-full";
        _sequenceGapType = options.ProblemTypeBaseUri + "sequence-gap";
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _options.Methods.Contains(request.Method)
            ? SendOperationAsync(request, async: true, cancellationToken).AsTask()
            : base.SendAsync(request, cancellationToken);
    }

    // HttpClient.Send (synchronous) does not go through SendAsync; without this override it would bypass the key.
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_options.Methods.Contains(request.Method))
        {
            return base.Send(request, cancellationToken);
        }

        var pending = SendOperationAsync(request, async: false, cancellationToken);
        Debug.Assert(pending.IsCompleted, "With async: false nothing awaits an incomplete task.");
        return pending.GetAwaiter().GetResult();
    }

    private async ValueTask<HttpResponseMessage> SendOperationAsync(HttpRequestMessage request, bool async, CancellationToken cancellationToken)
    {
        AssignHeaders(request.Headers, request);
        for (var attempt = 1; ; attempt++)
        {
            var response = async
                ? await base.SendAsync(request, cancellationToken).ConfigureAwait(false)
                : base.Send(request, cancellationToken);
            if (attempt >= _options.MaxAttempts || !MayRetry(response.StatusCode))
            {
                return response;
            }

            string? problemType;
            try
            {
                problemType = await ProblemTypeReader.ReadTypeAsync(response, async, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                response.Dispose();
                throw;
            }

            if (!ShouldRetry(response.StatusCode, problemType))
            {
                return response;
            }

            var delay = RetryDelay(response.Headers.RetryAfter);
            IdempotencyClientLog.RetryingAfterProblem(_logger, request.Method, (int)response.StatusCode, problemType!, delay, attempt + 1, _options.MaxAttempts);
            response.Dispose();

            // The same message goes out again: its key and sequence number are already set, so the server sees a retry
            // of the same operation, not a new one.
            if (delay > TimeSpan.Zero)
            {
                var wait = Task.Delay(delay, _timeProvider, cancellationToken);
                if (async)
                {
                    await wait.ConfigureAwait(false);
                }
                else
                {
                    wait.GetAwaiter().GetResult();
                }
            }
        }
    }

    private void AssignHeaders(HttpRequestHeaders headers, HttpRequestMessage request)
    {
        // A key the caller set is the caller's decision (e.g. a key persisted with an outbox message): kept as it is.
        if (!headers.Contains(_options.KeyHeaderName))
        {
            var key = _options.KeyFactory(request);
            if (!IsPrintableAscii(key))
            {
                // The key itself stays out of the message, as it does out of logs.
                throw new InvalidOperationException(
                    $"{nameof(IdempotencyClientOptions)}.{nameof(IdempotencyClientOptions.KeyFactory)} returned an empty key or one with characters other than printable ASCII.");
            }

            headers.TryAddWithoutValidation(_options.KeyHeaderName, key);
        }

        if (!_options.AssignSequenceNumbers || headers.Contains(_options.SequenceNumberHeaderName))
        {
            return;
        }

        var stream = SingleValue(headers, _options.SequenceStreamHeaderName);
        if (stream is null && _options.SequenceStream is { } configuredStream)
        {
            stream = configuredStream;
            headers.TryAddWithoutValidation(_options.SequenceStreamHeaderName, stream);
        }

        var epoch = SingleValue(headers, _options.SequenceEpochHeaderName);
        if (epoch is null && _options.SequenceEpoch is { } configuredEpoch)
        {
            epoch = configuredEpoch.ToString(CultureInfo.InvariantCulture);
            headers.TryAddWithoutValidation(_options.SequenceEpochHeaderName, epoch);
        }

        var number = _counters.Get(_clientName, stream, epoch, _options.FirstSequenceNumber).Next();
        headers.TryAddWithoutValidation(_options.SequenceNumberHeaderName, number.ToString(CultureInfo.InvariantCulture));
    }

    private bool MayRetry(HttpStatusCode status) => status switch
    {
        HttpStatusCode.Conflict => _options.RetryInFlight || _options.RetrySequenceGap,
        HttpStatusCode.ServiceUnavailable => _options.RetryStoreUnavailable,
        _ => false,
    };

    private bool ShouldRetry(HttpStatusCode status, string? problemType) => problemType is not null && status switch
    {
        HttpStatusCode.Conflict => (_options.RetryInFlight && string.Equals(problemType, _inFlightType, StringComparison.Ordinal))
            || (_options.RetrySequenceGap && string.Equals(problemType, _sequenceGapType, StringComparison.Ordinal)),
        HttpStatusCode.ServiceUnavailable => _options.RetryStoreUnavailable
            && (string.Equals(problemType, _storeUnavailableType, StringComparison.Ordinal) || string.Equals(problemType, _storeFullType, StringComparison.Ordinal)),
        _ => false,
    };

    private TimeSpan RetryDelay(RetryConditionHeaderValue? retryAfter)
    {
        var delay = retryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - _timeProvider.GetUtcNow(),
            _ => _options.DefaultRetryAfter,
        };

        if (delay < TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        return delay > _options.MaxRetryAfter ? _options.MaxRetryAfter : delay;
    }

    private static string? SingleValue(HttpRequestHeaders headers, string name)
        => headers.NonValidated.TryGetValues(name, out var values) ? values.ToString() : null;

    private static bool IsPrintableAscii(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is < ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }
}
