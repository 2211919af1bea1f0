using System.Buffers;

namespace Idempotency.Capture;

/// <summary>
/// Keeps a copy of a response body in pooled segments up to a limit. Past the limit the copy is dropped at once and
/// its memory returned, so capture memory per request is bounded by the policy's <c>MaxSnapshotBytes</c>.
/// </summary>
internal sealed class SnapshotBuffer : IDisposable
{
    private const int FirstSegmentSize = 4 * 1024;
    private const int MaxSegmentSize = 64 * 1024;

    private readonly int _limit;
    private List<byte[]>? _fullSegments;
    private byte[]? _current;
    private int _currentLength;
    private long _length;

    public SnapshotBuffer(int limit)
    {
        _limit = limit;
    }

    /// <summary>The most bytes kept.</summary>
    public int Limit => _limit;

    /// <summary>Whether the body grew past the limit and is no longer kept.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>All bytes written, kept or not.</summary>
    public long TotalLength { get; private set; }

    public void Append(ReadOnlySpan<byte> data)
    {
        TotalLength += data.Length;
        if (Overflowed || data.IsEmpty)
        {
            return;
        }

        if (_length + data.Length > _limit)
        {
            Overflowed = true;
            ReturnSegments();
            return;
        }

        _length += data.Length;
        while (!data.IsEmpty)
        {
            if (_current is null || _currentLength == _current.Length)
            {
                NextSegment();
            }

            var count = Math.Min(data.Length, _current!.Length - _currentLength);
            data[..count].CopyTo(_current.AsSpan(_currentLength));
            _currentLength += count;
            data = data[count..];
        }
    }

    /// <summary>The captured body as one exact-size array, which the store keeps.</summary>
    public byte[] ToArray()
    {
        if (Overflowed)
        {
            throw new InvalidOperationException("The snapshot overflowed; its body is not kept.");
        }

        if (_length == 0)
        {
            return [];
        }

        // Every byte is overwritten below, so the runtime need not zero the array first.
        var result = GC.AllocateUninitializedArray<byte>((int)_length);
        var offset = 0;
        if (_fullSegments is not null)
        {
            foreach (var segment in _fullSegments)
            {
                segment.CopyTo(result, offset);
                offset += segment.Length;
            }
        }

        _current.AsSpan(0, _currentLength).CopyTo(result.AsSpan(offset));
        return result;
    }

    /// <summary>Writes the kept body to <paramref name="destination"/> from its segments, without copying it into one array first.</summary>
    public async ValueTask WriteToAsync(Stream destination, CancellationToken cancellationToken)
    {
        if (Overflowed)
        {
            throw new InvalidOperationException("The snapshot overflowed; its body is not kept.");
        }

        if (_fullSegments is not null)
        {
            foreach (var segment in _fullSegments)
            {
                await destination.WriteAsync(segment, cancellationToken).ConfigureAwait(false);
            }
        }

        if (_current is not null && _currentLength > 0)
        {
            await destination.WriteAsync(_current.AsMemory(0, _currentLength), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Forgets everything appended, as if nothing had been (a held response cleared before it was sent).</summary>
    public void Reset()
    {
        ReturnSegments();
        _length = 0;
        TotalLength = 0;
        Overflowed = false;
    }

    public void Dispose() => ReturnSegments();

    private void NextSegment()
    {
        if (_current is not null)
        {
            // Full segments are kept whole; the pool may have handed out a larger array than asked for, and all of it is filled.
            (_fullSegments ??= []).Add(_current);
        }

        var size = _current is null ? FirstSegmentSize : Math.Min(_current.Length * 2, MaxSegmentSize);
        _current = ArrayPool<byte>.Shared.Rent(size);
        _currentLength = 0;
    }

    private void ReturnSegments()
    {
        if (_fullSegments is not null)
        {
            foreach (var segment in _fullSegments)
            {
                ArrayPool<byte>.Shared.Return(segment);
            }

            _fullSegments = null;
        }

        if (_current is not null)
        {
            ArrayPool<byte>.Shared.Return(_current);
            _current = null;
        }

        _currentLength = 0;
    }
}
