namespace Idempotency.Client.Internal;

/// <summary>
/// A read-only stream that yields bytes already read from a response and then the rest of that response. Lets the
/// handler look at the start of a body and still hand the caller the whole body, without buffering all of it.
/// </summary>
internal sealed class PrefixedReadStream : Stream
{
    private readonly byte[] _prefix;
    private readonly Stream _inner;
    private int _position;

    public PrefixedReadStream(byte[] prefix, Stream inner)
    {
        _prefix = prefix;
        _inner = inner;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var fromPrefix = ReadPrefix(buffer);
        return fromPrefix > 0 || buffer.IsEmpty ? fromPrefix : _inner.Read(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var fromPrefix = ReadPrefix(buffer.Span);
        return fromPrefix > 0 || buffer.IsEmpty ? new ValueTask<int>(fromPrefix) : _inner.ReadAsync(buffer, cancellationToken);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return _inner.DisposeAsync();
    }

    private int ReadPrefix(Span<byte> buffer)
    {
        var remaining = _prefix.Length - _position;
        if (remaining <= 0)
        {
            return 0;
        }

        var count = Math.Min(remaining, buffer.Length);
        _prefix.AsSpan(_position, count).CopyTo(buffer);
        _position += count;
        return count;
    }
}
