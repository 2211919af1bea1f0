using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Idempotency.CrashTest.App;
using Npgsql;

namespace Idempotency.Chaos.Hosting;

/// <summary>
/// Names who holds a lock when clients wait too long: every <see cref="Interval"/>, and whenever a client gives up, it
/// reads pg_stat_activity and pg_locks of the scenario's database for transactions open longer than the handlers
/// could ever take, and prints each (session, state, ages, the app instance and PID behind it from its
/// <c>Application Name</c>, whether that process is still alive, what it waits for or blocks). One query every few
/// seconds: cheap enough for the fast suite.
/// </summary>
public sealed class PostgreSqlLockWatch : IAsyncDisposable
{
    /// <summary>How often the database is asked.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    // Sessions of this database in a transaction older than @age seconds (all of them when a client gave up), with the
    // locks they hold and wait for and the sessions they block.
    private const string Query =
        """
        SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.state, ''), coalesce(a.client_port, -1),
            extract(epoch from now() - a.backend_start)::float8, extract(epoch from now() - a.xact_start)::float8,
            extract(epoch from now() - a.state_change)::float8, coalesce(a.wait_event_type || ':' || a.wait_event, ''),
            coalesce(array_to_string(pg_blocking_pids(a.pid), ','), ''),
            (SELECT count(*) FROM pg_locks l WHERE l.pid = a.pid AND l.granted),
            coalesce((SELECT string_agg(l.locktype || ' ' || l.mode, ', ') FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted), ''),
            coalesce((SELECT string_agg(b.pid::text, ',') FROM pg_stat_activity b WHERE a.pid = ANY (pg_blocking_pids(b.pid))), ''),
            left(regexp_replace(coalesce(a.query, ''), '\s+', ' ', 'g'), 160),
            (extract(epoch from a.xact_start) * 1000)::bigint
        FROM pg_stat_activity a
        WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL
            AND a.xact_start < now() - make_interval(secs => @age)
        ORDER BY a.xact_start
        """;

    private readonly string _database;
    private readonly TimeSpan _threshold;
    private readonly Action<string> _write;
    private const int MaxLines = 20;

    private readonly ConcurrentDictionary<(int Pid, long Began), bool> _transactions = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _snapshots;

    /// <param name="database">The scenario's database.</param>
    /// <param name="threshold">A transaction open longer than this is reported (the handlers take a second or so).</param>
    /// <param name="write">Where the findings go (the test's output).</param>
    public PostgreSqlLockWatch(string database, TimeSpan threshold, Action<string> write)
    {
        _database = new NpgsqlConnectionStringBuilder(database) { ApplicationName = "chaos-lock-watch", Pooling = false }.ConnectionString;
        _threshold = threshold;
        _write = write;
        _loop = WatchAsync();
    }

    /// <summary>A transaction open longer than this is reported.</summary>
    public TimeSpan Threshold => _threshold;

    /// <summary>Transactions found open longer than the threshold (or at all, when a client gave up), over the whole run.</summary>
    public int LongTransactions => _transactions.Count;

    /// <summary>How many times a snapshot found at least one such session.</summary>
    public int Snapshots => Volatile.Read(ref _snapshots);

    /// <summary>
    /// Prints every session of the database in a transaction (whatever its age) after a client gave up on
    /// <paramref name="operation"/>: among them is the one that held its record. Never throws.
    /// </summary>
    public async Task ClientGaveUpAsync(string operation, int status)
    {
        var lines = await ReadAsync(TimeSpan.Zero);
        _write($"lock watch: a client of {operation} gave up (last status {status}); sessions in a transaction:\n{(lines.Count == 0 ? "  (none)" : string.Join('\n', lines))}");
    }

    private async Task WatchAsync()
    {
        try
        {
            using var timer = new PeriodicTimer(Interval);
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var lines = await ReadAsync(_threshold);
                if (lines.Count > 0)
                {
                    Interlocked.Increment(ref _snapshots);
                    _write($"lock watch: transactions open longer than {_threshold.TotalSeconds:F0} s:\n{string.Join('\n', lines)}");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<List<string>> ReadAsync(TimeSpan age)
    {
        var lines = new List<string>();
        var more = 0;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await using var connection = new NpgsqlConnection(_database);
            await connection.OpenAsync(timeout.Token);
            await using var command = new NpgsqlCommand(Query, connection);
            command.Parameters.AddWithValue("age", age.TotalSeconds);
            await using var reader = await command.ExecuteReaderAsync(timeout.Token);
            while (await reader.ReadAsync(timeout.Token))
            {
                // One transaction is one session's pid and the moment it began.
                if (reader.GetDouble(5) >= _threshold.TotalSeconds)
                {
                    _transactions.TryAdd((reader.GetInt32(0), reader.GetInt64(13)), true);
                }

                if (lines.Count < MaxLines)
                {
                    lines.Add(Describe(reader));
                }
                else
                {
                    more++;
                }
            }

            if (more > 0)
            {
                lines.Add($"  (and {more} more)");
            }
        }

        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or InvalidOperationException)
        {
            lines.Add($"  (the lock watch could not read pg_stat_activity: {ex.GetType().Name}: {ex.Message})");
        }

        return lines;
    }

    private static string Describe(NpgsqlDataReader reader)
    {
        var application = reader.GetString(1);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"  pid {reader.GetInt32(0)} [{application}{ProcessState(application)}] {reader.GetString(2)}, client port {reader.GetInt32(3)}, ");
        text.Append(CultureInfo.InvariantCulture,
            $"transaction {reader.GetDouble(5):F1} s, state for {reader.GetDouble(6):F1} s, backend {reader.GetDouble(4):F1} s, ");
        text.Append(CultureInfo.InvariantCulture, $"holds {reader.GetInt64(9)} locks");
        Append(text, "waits on", reader.GetString(7));
        Append(text, "waits for lock", reader.GetString(10));
        Append(text, "blocked by", reader.GetString(8));
        Append(text, "blocks", reader.GetString(11));
        text.Append(CultureInfo.InvariantCulture, $"; last query: {reader.GetString(12)}");
        return text.ToString();

        static void Append(StringBuilder text, string what, string value)
        {
            if (value.Length > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $", {what} {value}");
            }
        }
    }

    /// <summary>", process alive" or ", PROCESS GONE" for a session of a crash-test app instance (named crash:instance:pid).</summary>
    private static string ProcessState(string application)
    {
        if (!application.StartsWith(ApplicationNames.Prefix, StringComparison.Ordinal)
            || !int.TryParse(application.AsSpan(application.LastIndexOf(':') + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return "";
        }

        // A backend whose client process is gone should have seen its socket close at once: say so loudly.
        return Directory.Exists($"/proc/{pid}") ? ", process alive" : ", PROCESS GONE";
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
