using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Idempotency.Capture;

/// <summary>
/// Puts <see cref="ResponseCaptureStream"/> under every way a handler can write a body: the stream, the pipe
/// writer (created on demand over the stream) and send-file (copied through the stream).
/// </summary>
internal sealed class CaptureResponseBodyFeature : IHttpResponseBodyFeature
{
    private readonly IHttpResponseBodyFeature _prior;
    private readonly ResponseCaptureStream _stream;
    private PipeWriter? _writer;

    public CaptureResponseBodyFeature(IHttpResponseBodyFeature prior, ResponseCaptureStream stream)
    {
        _prior = prior;
        _stream = stream;
    }

    public Stream Stream => _stream;

    public PipeWriter Writer => _writer ??= PipeWriter.Create(_stream, new StreamPipeWriterOptions(leaveOpen: true));

    public void DisableBuffering() => _prior.DisableBuffering();

    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        _stream.MarkStarted();
        return _prior.StartAsync(cancellationToken);
    }

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
        => SendFileFallback.SendFileAsync(_stream, path, offset, count, cancellationToken);

    public async Task CompleteAsync()
    {
        await FlushWriterAsync().ConfigureAwait(false);
        await _prior.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>Pushes bytes a handler left in the pipe writer through the capture stream before the snapshot is taken.</summary>
    public ValueTask<FlushResult> FlushWriterAsync()
        => _writer is null ? ValueTask.FromResult(default(FlushResult)) : _writer.FlushAsync();
}
