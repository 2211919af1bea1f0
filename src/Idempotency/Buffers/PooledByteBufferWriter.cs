using System.Buffers;

namespace Idempotency.Buffers;

/// <summary>
/// A byte buffer over <see cref="ArrayPool{T}"/> that grows up to a fixed capacity; <see cref="Dispose"/> returns the
/// array. The capacity bounds what the pool can be made to keep, so it must be bounded by configuration, never by input.
/// </summary>
internal sealed class PooledByteBufferWriter : IBufferWriter<byte>, IDisposable
{
    private readonly int _maxCapacity;
    private byte[] _buffer;
    private int _written;

    public PooledByteBufferWriter(int initialCapacity, int maxCapacity)
    {
        _maxCapacity = maxCapacity;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Clamp(initialCapacity, 1, Math.Max(maxCapacity, 1)));
    }

    public int WrittenCount => _written;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public void Advance(int count)
    {
        if ((uint)count > (uint)(_buffer.Length - _written))
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        EnsureCapacity(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        EnsureCapacity(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _written = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void EnsureCapacity(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= sizeHint)
        {
            return;
        }

        if (sizeHint > _maxCapacity - _written)
        {
            throw new InvalidOperationException($"The buffer cannot grow past {_maxCapacity} bytes.");
        }

        var newSize = (int)Math.Min(Math.Max(_buffer.Length * 2L, _written + sizeHint), _maxCapacity);
        var larger = ArrayPool<byte>.Shared.Rent(newSize);
        _buffer.AsSpan(0, _written).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
