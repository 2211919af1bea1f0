using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Idempotency.Capture;

/// <summary>
/// Puts the capture under every way a handler can write a body: the stream (<see cref="ResponseCaptureStream"/>), the
/// pipe writer (<see cref="ResponseCapturePipeWriter"/> over the server's own writer, created on demand) and send-file
/// (copied through the stream). Both copy into the same snapshot, in the order the handler wrote.
/// </summary>
internal sealed class CaptureResponseBodyFeature : IHttpResponseBodyFeature
{
    private readonly IHttpResponseBodyFeature _prior;
    private readonly ResponseCaptureStream _stream;
    private readonly SnapshotBuffer _snapshot;
    private readonly CancellationToken _requestAborted;
    private ResponseCapturePipeWriter? _writer;

    public CaptureResponseBodyFeature(IHttpResponseBodyFeature prior, SnapshotBuffer snapshot, CancellationToken requestAborted)
    {
        _prior = prior;
        _snapshot = snapshot;
        _requestAborted = requestAborted;
        _stream = new ResponseCaptureStream(prior.Stream, snapshot, requestAborted);
    }

    public Stream Stream => _stream;

    public PipeWriter Writer => _writer ??= new ResponseCapturePipeWriter(_prior.Writer, _snapshot, _requestAborted);

    public void DisableBuffering() => _prior.DisableBuffering();

    public Task StartAsync(CancellationToken cancellationToken = default) => _prior.StartAsync(cancellationToken);

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
        => SendFileFallback.SendFileAsync(_stream, path, offset, count, cancellationToken);

    public async Task CompleteAsync()
    {
        await FlushWriterAsync().ConfigureAwait(false);
        await _prior.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>Sends bytes a handler advanced over in the pipe writer but did not flush, before the record is completed.</summary>
    public ValueTask<FlushResult> FlushWriterAsync()
        => _writer is null ? ValueTask.FromResult(default(FlushResult)) : _writer.FlushUnflushedAsync();
}
