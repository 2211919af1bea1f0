using StackExchange.Redis;

namespace Idempotency.Redis.Internal;

/// <summary>
/// The key and argument arrays a script is sent with, kept per thread from one command to the next:
/// <c>ScriptEvaluateAsync</c> takes arrays, and a new pair for every command was a tenth of what a Redis replay
/// allocated.
/// </summary>
/// <remarks>
/// An array is handed back (<see cref="Return"/>) only once Redis has answered the command that held it: until then
/// StackExchange.Redis may write it, or write it again after a <c>NOSCRIPT</c> reply. After a failure or a cancellation
/// the command may still be queued, so its arrays are left to the GC. A returned array is cleared first, so it keeps no
/// fingerprint or pooled snapshot alive. An array rented on one thread may be returned on another; each thread keeps at
/// most one of each length.
/// </remarks>
internal static class RedisScriptArguments
{
    private const int MaxCount = 5;

    [ThreadStatic]
    private static RedisKey[]? t_keys;

    [ThreadStatic]
    private static RedisValue[]?[]? t_values;

    public static RedisKey[] Keys(RedisKey key)
    {
        var keys = t_keys ?? new RedisKey[1];
        t_keys = null;
        keys[0] = key;
        return keys;
    }

    public static RedisValue[] Values(RedisValue first)
    {
        var values = Rent(1);
        values[0] = first;
        return values;
    }

    public static RedisValue[] Values(RedisValue first, RedisValue second)
    {
        var values = Rent(2);
        values[0] = first;
        values[1] = second;
        return values;
    }

    public static RedisValue[] Values(RedisValue first, RedisValue second, RedisValue third)
    {
        var values = Rent(3);
        values[0] = first;
        values[1] = second;
        values[2] = third;
        return values;
    }

    public static RedisValue[] Values(RedisValue first, RedisValue second, RedisValue third, RedisValue fourth)
    {
        var values = Rent(4);
        values[0] = first;
        values[1] = second;
        values[2] = third;
        values[3] = fourth;
        return values;
    }

    public static RedisValue[] Values(RedisValue first, RedisValue second, RedisValue third, RedisValue fourth, RedisValue fifth)
    {
        var values = Rent(5);
        values[0] = first;
        values[1] = second;
        values[2] = third;
        values[3] = fourth;
        values[4] = fifth;
        return values;
    }

    /// <summary>Keeps <paramref name="keys"/> and <paramref name="values"/> for the next command on this thread; call only once Redis has answered.</summary>
    public static void Return(RedisKey[] keys, RedisValue[] values)
    {
        if (keys.Length == 1)
        {
            keys[0] = default;
            t_keys = keys;
        }

        if (values.Length is > 0 and <= MaxCount)
        {
            Array.Clear(values);
            (t_values ??= new RedisValue[]?[MaxCount + 1])[values.Length] = values;
        }
    }

    private static RedisValue[] Rent(int count)
    {
        var cached = t_values;
        if (cached?[count] is { } values)
        {
            cached[count] = null;
            return values;
        }

        return new RedisValue[count];
    }
}
