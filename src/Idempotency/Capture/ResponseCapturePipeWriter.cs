using System.IO.Pipelines;

namespace Idempotency.Capture;

/// <summary>
/// The response's pipe writer with a bounded copy kept for the record: the handler writes straight into the server's
/// buffers, and each span it advances over is copied into the snapshot. No pipe of our own sits in between, so a body
/// written through <c>BodyWriter</c> (as <c>WriteAsJsonAsync</c> does) is copied once, not three times.
/// </summary>
/// <remarks>
/// As with <see cref="ResponseCaptureStream"/>, once the client has gone away failed writes and flushes are swallowed so
/// the handler runs to its end and its response is recorded. Completing this writer does not complete the server's:
/// the server ends the body when the pipeline returns, after the middleware has taken its snapshot.
/// </remarks>
internal sealed class ResponseCapturePipeWriter : PipeWriter
{
    private readonly PipeWriter _inner;
    private readonly SnapshotBuffer _snapshot;
    private readonly CancellationToken _requestAborted;
    private Memory<byte> _buffer;
    private bool _completed;

    public ResponseCapturePipeWriter(PipeWriter inner, SnapshotBuffer snapshot, CancellationToken requestAborted)
    {
        _inner = inner;
        _snapshot = snapshot;
        _requestAborted = requestAborted;
    }

    public bool ClientDisconnected { get; private set; }

    public override bool CanGetUnflushedBytes => _inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => _inner.UnflushedBytes;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        ThrowIfCompleted();
        return _buffer = _inner.GetMemory(sizeHint);
    }

    // The span is taken from GetMemory so that Advance can find the bytes again to copy them.
    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        if ((uint)bytes > (uint)_buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "Advanced past the end of the buffer last returned by GetMemory or GetSpan.");
        }

        _snapshot.Append(_buffer.Span[..bytes]);
        _buffer = _buffer[bytes..];
        _inner.Advance(bytes);
    }

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        ThrowIfCompleted();
        _buffer = default;
        _snapshot.Append(source.Span);
        if (ClientDisconnected)
        {
            return default;
        }

        ValueTask<FlushResult> write;
        try
        {
            write = _inner.WriteAsync(source, cancellationToken);
        }
        catch (Exception ex) when (IsClientGone(ex))
        {
            ClientDisconnected = true;
            return default;
        }

        return write.IsCompletedSuccessfully ? write : AwaitAsync(write);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (ClientDisconnected)
        {
            return default;
        }

        ValueTask<FlushResult> flush;
        try
        {
            flush = _inner.FlushAsync(cancellationToken);
        }
        catch (Exception ex) when (IsClientGone(ex))
        {
            ClientDisconnected = true;
            return default;
        }

        return flush.IsCompletedSuccessfully ? flush : AwaitAsync(flush);
    }

    /// <summary>Sends what the handler advanced over but did not flush, before the record is completed.</summary>
    public ValueTask<FlushResult> FlushUnflushedAsync()
        => _inner.CanGetUnflushedBytes && _inner.UnflushedBytes == 0 ? default : FlushAsync();

    public override void CancelPendingFlush() => _inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null) => _completed = true;

    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        await FlushAsync().ConfigureAwait(false);
    }

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            throw new InvalidOperationException("Writing is not allowed after the writer was completed.");
        }
    }

    private async ValueTask<FlushResult> AwaitAsync(ValueTask<FlushResult> operation)
    {
        try
        {
            return await operation.ConfigureAwait(false);
        }
        catch (Exception ex) when (IsClientGone(ex))
        {
            ClientDisconnected = true;
            return default;
        }
    }

    private bool IsClientGone(Exception ex)
        => _requestAborted.IsCancellationRequested && ex is IOException or OperationCanceledException or ObjectDisposedException;
}
