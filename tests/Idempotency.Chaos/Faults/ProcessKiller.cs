using Idempotency.Chaos.Hosting;
using Npgsql;

namespace Idempotency.Chaos.Faults;

/// <summary>
/// Kills app instances with SIGKILL and starts each again at once, one down at a time (the next kill waits for the
/// restart, so the others keep serving). Every other kill is at a random moment, on a random instance, landing
/// wherever its handlers are; the others wait for a new order row and kill the instance that just wrote it, while
/// that handler is between its write and its response (the window a crash test is about), as random kills on a busy
/// machine hit too rarely to count on.
/// </summary>
public static class ProcessKiller
{
    private static readonly TimeSpan RowWait = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Kills an instance <paramref name="minGap"/> to <paramref name="maxGap"/> after the last one is back, until
    /// <paramref name="stop"/>; an instance killed is always started again, whatever <paramref name="stop"/> says.
    /// </summary>
    /// <param name="instances">The instances, named as they name themselves in the rows they write.</param>
    /// <param name="database">The database of the <c>orders</c> table.</param>
    /// <returns>How many processes were killed.</returns>
    public static async Task<int> KillAndRestartAsync(IReadOnlyList<CrashAppProcess> instances, string database, TimeSpan minGap, TimeSpan maxGap, CancellationToken stop)
    {
        var kills = 0;
        while (true)
        {
            var gap = minGap + ((maxGap - minGap) * Random.Shared.NextDouble());
            CrashAppProcess? victim;
            try
            {
                await Task.Delay(gap, stop);
                victim = kills % 2 == 0 ? instances[Random.Shared.Next(instances.Count)] : await LatestWriterAsync(instances, database, stop);
            }
            catch (OperationCanceledException)
            {
                return kills;
            }

            if (victim is null)
            {
                continue;
            }

            await victim.KillAsync();
            kills++;
            await victim.StartAsync();
        }
    }

    /// <summary>The instance that writes the next order row, found as soon as the row is there; null if none comes soon.</summary>
    private static async Task<CrashAppProcess?> LatestWriterAsync(IReadOnlyList<CrashAppProcess> instances, string database, CancellationToken stop)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(stop);
        await using var command = new NpgsqlCommand("SELECT coalesce(max(sequence), 0) FROM orders", connection);
        var last = (long)(await command.ExecuteScalarAsync(stop))!;
        command.CommandText = "SELECT instance FROM orders WHERE sequence > @last ORDER BY sequence DESC LIMIT 1";
        command.Parameters.AddWithValue("last", last);
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(stop);
        patience.CancelAfter(RowWait);
        try
        {
            while (true)
            {
                if (await command.ExecuteScalarAsync(patience.Token) is string name)
                {
                    foreach (var instance in instances)
                    {
                        if (instance.Name == name)
                        {
                            return instance;
                        }
                    }
                }

                await Task.Delay(10, patience.Token);
            }
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            return null;
        }
    }
}
