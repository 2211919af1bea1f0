using Idempotency.Redis.Internal;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>The key and argument arrays the store reuses from one command to the next.</summary>
public sealed class RedisScriptArgumentsTests
{
    [Fact]
    public void An_array_in_use_is_not_handed_out_again_before_it_is_returned()
    {
        var first = RedisScriptArguments.Values(1, 2, 3);
        var second = RedisScriptArguments.Values(4, 5, 6);
        var firstKeys = RedisScriptArguments.Keys("a");
        var secondKeys = RedisScriptArguments.Keys("b");

        Assert.NotSame(first, second);
        Assert.Equal([1, 2, 3], first.Select(value => (long)value));
        Assert.NotSame(firstKeys, secondKeys);
        Assert.Equal("a", (string?)firstKeys[0]);
    }

    [Fact]
    public void A_returned_array_is_cleared_so_it_keeps_no_fingerprint_or_snapshot_alive()
    {
        var snapshot = new byte[64];
        var keys = RedisScriptArguments.Keys("record");
        var values = RedisScriptArguments.Values(7, new ReadOnlyMemory<byte>(snapshot), 1000);

        RedisScriptArguments.Return(keys, values);

        Assert.All(values, value => Assert.True(value.IsNull));
        Assert.Equal(default, keys[0]);
    }

    [Fact]
    public void A_returned_array_serves_the_next_command_of_its_length_on_the_thread()
    {
        var keys = RedisScriptArguments.Keys("record");
        var values = RedisScriptArguments.Values(7, 8);
        RedisScriptArguments.Return(keys, values);

        var nextKeys = RedisScriptArguments.Keys("next");
        var nextValues = RedisScriptArguments.Values(9, 10);

        Assert.Same(keys, nextKeys);
        Assert.Same(values, nextValues);
        Assert.Equal([9, 10], nextValues.Select(value => (long)value));
        Assert.NotSame(values, RedisScriptArguments.Values(1, 2, 3));
    }
}
