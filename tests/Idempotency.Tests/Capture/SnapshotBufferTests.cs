using Idempotency.Capture;

namespace Idempotency.Tests.Capture;

public sealed class SnapshotBufferTests
{
    [Fact]
    public void Appended_chunks_come_back_as_one_array_in_order()
    {
        using var buffer = new SnapshotBuffer(1_000_000);
        var expected = new byte[200_000];
        new Random(42).NextBytes(expected);

        for (var offset = 0; offset < expected.Length; offset += 7_777)
        {
            buffer.Append(expected.AsSpan(offset, Math.Min(7_777, expected.Length - offset)));
        }

        Assert.False(buffer.Overflowed);
        Assert.Equal(expected, buffer.ToArray());
    }

    [Fact]
    public void Body_exactly_at_the_limit_is_kept()
    {
        using var buffer = new SnapshotBuffer(10);
        buffer.Append(new byte[6]);
        buffer.Append(new byte[4]);

        Assert.False(buffer.Overflowed);
        Assert.Equal(10, buffer.ToArray().Length);
    }

    [Fact]
    public void Body_past_the_limit_overflows_and_keeps_counting_what_was_written()
    {
        using var buffer = new SnapshotBuffer(10);
        buffer.Append(new byte[6]);
        buffer.Append(new byte[5]);
        buffer.Append(new byte[100]);

        Assert.True(buffer.Overflowed);
        Assert.Equal(111, buffer.TotalLength);
        Assert.Throws<InvalidOperationException>(() => buffer.ToArray());
    }

    [Fact]
    public void Zero_limit_keeps_an_empty_body()
    {
        using var buffer = new SnapshotBuffer(0);

        Assert.False(buffer.Overflowed);
        Assert.Empty(buffer.ToArray());
    }
}
