using System.Globalization;
using System.Numerics;
using Idempotency.Redis.Internal;
using Idempotency.Redis.Tests.Infrastructure;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>
/// The decimal-string arithmetic the stream scripts rely on, run inside Redis's Lua and checked against
/// <see cref="BigInteger"/>: Lua numbers are doubles, and sequence numbers and epochs reach 2^63-1.
/// </summary>
public sealed class RedisStreamNumbersTests(RedisStoreFixture server) : IClassFixture<RedisStoreFixture>
{
    private const string Probe = """
        local out = {}
        for i = 1, #ARGV, 3 do
          out[#out + 1] = cmp(ARGV[i], ARGV[i + 1])
          out[#out + 1] = add(ARGV[i], tonumber(ARGV[i + 2])) or false
        end
        return out
        """;

    private static readonly long[] Edges =
    [
        0, 1, 2, 9, 10, 15, 16, 17, 99, 100, 999_999_999_999_999, 1_000_000_000_000_000, 1_000_000_000_000_001,
        (1L << 53) - 1, 1L << 53, (1L << 53) + 1, (1L << 53) + 2, long.MaxValue - (1L << 31), long.MaxValue - 17,
        long.MaxValue - 16, long.MaxValue - 2, long.MaxValue - 1, long.MaxValue,
    ];

    private static readonly int[] Deltas = [1, -1, -16, -17, 16, -(int)1e9, int.MaxValue, -int.MaxValue, int.MinValue + 1];

    [Fact]
    public async Task Compare_and_add_are_exact_up_to_the_largest_long()
    {
        var random = new Random(20260101);
        var cases = new List<(long A, long B, int Delta)>();
        foreach (var a in Edges)
        {
            foreach (var b in Edges)
            {
                cases.Add((a, b, Deltas[cases.Count % Deltas.Length]));
            }

            foreach (var delta in Deltas)
            {
                cases.Add((a, a, delta));
            }
        }

        for (var i = 0; i < 500; i++)
        {
            // Neighbours that a double cannot tell apart, and values of every length.
            var a = random.NextInt64(long.MaxValue) >> random.Next(63);
            var b = random.Next(3) == 0 ? a ^ 1 : random.NextInt64(long.MaxValue) >> random.Next(63);
            cases.Add((a, b, Deltas[random.Next(Deltas.Length)]));
        }

        var arguments = cases.SelectMany(c => new RedisValue[] { c.A, c.B, c.Delta }).ToArray();
        var database = (await server.GetConnectionAsync()).GetDatabase();
        var reply = (RedisResult[])(await database.ScriptEvaluateAsync(RedisStreamScripts.Numbers + Probe, [], arguments))!;

        for (var i = 0; i < cases.Count; i++)
        {
            var (a, b, delta) = cases[i];
            Assert.True(a.CompareTo(b) == (int)reply[2 * i], $"cmp({a}, {b}) answered {(int)reply[2 * i]}");

            var sum = new BigInteger(a) + delta;
            var expected = sum < 0 ? null : sum.ToString(CultureInfo.InvariantCulture);
            Assert.True(expected == (string?)reply[(2 * i) + 1], $"add({a}, {delta}) answered '{(string?)reply[(2 * i) + 1]}', expected '{expected}'");
        }
    }
}
