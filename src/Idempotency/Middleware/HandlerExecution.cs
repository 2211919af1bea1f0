using Idempotency.Capture;
using Idempotency.Execution;
using Idempotency.Policies;
using Idempotency.Storage;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Idempotency.Middleware;

/// <summary>A request's handler as the engine runs it: a struct, so owning a record costs the middleware no extra allocation.</summary>
internal readonly struct HandlerExecution : IOwnedWork
{
    private readonly IdempotencyMiddleware _middleware;
    private readonly HttpContext _context;
    private readonly ResolvedPolicy _policy;
    private readonly string _storeKey;
    private readonly IHttpResponseBodyFeature _originalBody;
    private readonly CaptureResponseBodyFeature _captureBody;
    private readonly ResponseCaptureStream _captureStream;
    private readonly SnapshotBuffer _snapshot;
    private readonly IExceptionHandlerFeature? _exceptionHandledBefore;

    // exceptionHandledBefore (transactional policies): what an exception handler had handled before the handler ran
    // (this request is that handler re-executing the pipeline), so that what the handler's own failure leaves behind
    // can be told apart from it.
    public HandlerExecution(
        IdempotencyMiddleware middleware, HttpContext context, ResolvedPolicy policy, string storeKey,
        IHttpResponseBodyFeature originalBody, CaptureResponseBodyFeature captureBody, ResponseCaptureStream captureStream, SnapshotBuffer snapshot,
        IExceptionHandlerFeature? exceptionHandledBefore = null)
    {
        _middleware = middleware;
        _context = context;
        _policy = policy;
        _storeKey = storeKey;
        _originalBody = originalBody;
        _captureBody = captureBody;
        _captureStream = captureStream;
        _snapshot = snapshot;
        _exceptionHandledBefore = exceptionHandledBefore;
    }

    public HttpContext? HttpContext => _context;

    public ValueTask RunAsync() => _middleware.RunHandlerAsync(_context, _policy, _originalBody, _captureBody);

    public ValueTask<StoredResponse?> CreateResponseAsync() => _middleware.CaptureResponseAsync(_context, _policy, _storeKey, _captureStream, _snapshot, _exceptionHandledBefore);
}
