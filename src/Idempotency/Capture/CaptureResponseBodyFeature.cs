using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Idempotency.Capture;

/// <summary>
/// Puts <see cref="ResponseCaptureStream"/> under every way a handler can write a body: the stream, the pipe
/// writer (created on demand over the stream) and send-file (copied through the stream).
/// </summary>
/// <remarks>
/// When holding (transactional policies), nothing reaches the layers outside: the response is neither started nor
/// completed, so its status and headers stay changeable until the transaction's outcome is known.
/// </remarks>
internal sealed class CaptureResponseBodyFeature : IHttpResponseBodyFeature
{
    private readonly IHttpResponseBodyFeature _prior;
    private readonly ResponseCaptureStream _stream;
    private readonly bool _hold;
    private PipeWriter? _writer;

    public CaptureResponseBodyFeature(IHttpResponseBodyFeature prior, ResponseCaptureStream stream, bool hold)
    {
        _prior = prior;
        _stream = stream;
        _hold = hold;
    }

    public Stream Stream => _stream;

    public PipeWriter Writer => _writer ??= PipeWriter.Create(_stream, new StreamPipeWriterOptions(leaveOpen: true));

    public void DisableBuffering()
    {
        if (!_hold)
        {
            _prior.DisableBuffering();
        }
    }

    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        _stream.MarkStarted();
        return _hold ? Task.CompletedTask : _prior.StartAsync(cancellationToken);
    }

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
        => SendFileFallback.SendFileAsync(_stream, path, offset, count, cancellationToken);

    public async Task CompleteAsync()
    {
        await FlushWriterAsync().ConfigureAwait(false);
        if (!_hold)
        {
            await _prior.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Pushes bytes a handler left in the pipe writer through the capture stream before the snapshot is taken.</summary>
    public ValueTask<FlushResult> FlushWriterAsync()
        => _writer is null ? ValueTask.FromResult(default(FlushResult)) : _writer.FlushAsync();
}
