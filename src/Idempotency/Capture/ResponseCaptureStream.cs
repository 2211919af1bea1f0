using Microsoft.AspNetCore.Http;

namespace Idempotency.Capture;

/// <summary>
/// Writes the response through to the client and keeps a bounded copy for the record. The client never waits for
/// the copy: bytes go out as the handler writes them.
/// </summary>
/// <remarks>
/// <para>
/// Holding (transactional policies, over <see cref="Stream.Null"/>), the copy is all there is of the body: a write past
/// the limit fails, since nothing of such a response could ever be sent and the handler must not go on (an endpoint that
/// streams would go on for ever) with its transaction open; and the body can be cleared, as
/// <c>HttpResponse.Clear()</c> does for a seekable body, so an exception handler inside the middleware replaces what
/// the failed handler had written instead of appending to it.
/// </para>
/// <para>
/// Once the client has gone away, failed writes to it are swallowed and capture continues, so the handler runs to
/// its end and its response is recorded. Otherwise a disconnect after the operation took effect would surface as a
/// handler exception, release the record, and let the retry run the operation a second time.
/// </para>
/// </remarks>
internal sealed class ResponseCaptureStream : Stream
{
    private readonly Stream _inner;
    private readonly SnapshotBuffer _snapshot;
    private readonly CancellationToken _requestAborted;
    private readonly IHeaderDictionary _headers;
    private readonly bool _hold;

    public ResponseCaptureStream(Stream inner, SnapshotBuffer snapshot, CancellationToken requestAborted, IHeaderDictionary headers, bool hold = false)
    {
        _inner = inner;
        _snapshot = snapshot;
        _requestAborted = requestAborted;
        _headers = headers;
        _hold = hold;
    }

    public bool ClientDisconnected { get; private set; }

    /// <summary>Whether the handler started the response (wrote, flushed or started it) through this stream.</summary>
    public bool Started { get; private set; }

    /// <summary>
    /// The <c>Content-Encoding</c> the handler's bytes had when the response started. Middleware outside this one that
    /// transforms the body (response compression) sets its own coding on the shared headers only once the first write
    /// reaches it, and the bytes kept here are the ones from before that transformation.
    /// </summary>
    public Microsoft.Extensions.Primitives.StringValues ContentEncodingAtStart { get; private set; }

    /// <summary>Notes the response's start, before anything is passed on to the layers outside.</summary>
    public void MarkStarted()
    {
        if (!Started)
        {
            Started = true;
            ContentEncodingAtStart = _headers.ContentEncoding;
        }
    }

    public override bool CanRead => false;

    // Holding, "seekable" only so far as HttpResponse.Clear() needs: it truncates a seekable body with SetLength(0).
    public override bool CanSeek => _hold;

    public override bool CanWrite => true;

    public override long Length => _hold ? _snapshot.TotalLength : throw new NotSupportedException();

    public override long Position
    {
        get => _hold ? _snapshot.TotalLength : throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        MarkStarted();
        Append(buffer);
        if (ClientDisconnected)
        {
            return;
        }

        try
        {
            _inner.Write(buffer);
        }
        catch (Exception ex) when (IsClientGone(ex))
        {
            ClientDisconnected = true;
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        MarkStarted();
        try
        {
            Append(buffer.Span);
        }
        catch (IOException ex)
        {
            return ValueTask.FromException(ex);
        }

        if (ClientDisconnected)
        {
            return ValueTask.CompletedTask;
        }

        ValueTask write;
        try
        {
            write = _inner.WriteAsync(buffer, cancellationToken);
        }
        catch (Exception ex) when (IsClientGone(ex))
        {
            ClientDisconnected = true;
            return ValueTask.CompletedTask;
        }

        return write.IsCompletedSuccessfully ? ValueTask.CompletedTask : AwaitWriteAsync(write);
    }

    public override IAsyncResult BeginWrite(byte[] buffer, int offset, int count, AsyncCallback? callback, object? state)
        => TaskToAsyncResult.Begin(WriteAsync(buffer, offset, count, CancellationToken.None), callback, state);

    public override void EndWrite(IAsyncResult asyncResult) => TaskToAsyncResult.End(asyncResult);

    public override void Flush()
    {
        MarkStarted();
        if (ClientDisconnected)
        {
            return;
        }

        try
        {
            _inner.Flush();
        }
        catch (Exception ex) when (IsClientGone(ex))
        {
            ClientDisconnected = true;
        }
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        MarkStarted();
        if (ClientDisconnected)
        {
            return;
        }

        try
        {
            await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsClientGone(ex))
        {
            ClientDisconnected = true;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value)
    {
        if (!_hold || value != 0)
        {
            throw new NotSupportedException();
        }

        _snapshot.Reset();
    }

    private void Append(ReadOnlySpan<byte> buffer)
    {
        _snapshot.Append(buffer);
        if (_hold && _snapshot.Overflowed && !buffer.IsEmpty)
        {
            throw new IOException(
                $"The response is larger than the policy's MaxSnapshotBytes ({_snapshot.Limit} bytes). A transactional policy holds the whole response until its transaction commits, so this one cannot be sent; the transaction is rolled back.");
        }
    }

    private async ValueTask AwaitWriteAsync(ValueTask write)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (Exception ex) when (IsClientGone(ex))
        {
            ClientDisconnected = true;
        }
    }

    private bool IsClientGone(Exception ex)
        => _requestAborted.IsCancellationRequested && ex is IOException or OperationCanceledException or ObjectDisposedException;
}
