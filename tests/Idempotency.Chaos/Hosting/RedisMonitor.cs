using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Idempotency.Chaos.History;

namespace Idempotency.Chaos.Hosting;

/// <summary>
/// Reads Redis's MONITOR feed on a connection of its own (straight to the server, never through the proxy) and keeps,
/// for every fencing token the store's scripts carried, the server's times of the commands that carried it, mapped
/// onto the run's clock (one machine: Redis's clock and ours are the same clock). A feed that breaks (Redis killed,
/// the connection killed by CLIENT KILL) is reconnected, and the stretch it may have missed is a gap the log does not
/// cover. Fencing tokens are random 63-bit numbers; shorter numbers (lease lengths, key counts) are not kept.
/// </summary>
internal sealed class RedisMonitor : IStoreCommandLog, IAsyncDisposable
{
    private const int TokenMinimumDigits = 12;

    private readonly int _port;
    private readonly HistoryRecorder _history;
    private readonly TimeSpan _unixOffset;
    private readonly ConcurrentDictionary<long, List<TimeSpan>> _times = new();
    private readonly List<(TimeSpan From, TimeSpan To)> _gaps = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _markers = new(StringComparer.Ordinal);
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _reading;
    private TimeSpan _last;
    private bool _inGap;

    private RedisMonitor(int port, HistoryRecorder history)
    {
        _port = port;
        _history = history;

        // Redis stamps each line with its wall clock; the run's clock is monotonic from the recorder's start.
        _unixOffset = TimeSpan.FromTicks(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * TimeSpan.TicksPerMillisecond) - history.Now;
    }

    public static async Task<RedisMonitor> StartAsync(int port, HistoryRecorder history)
    {
        var monitor = new RedisMonitor(port, history);
        monitor._reading = monitor.ReadAsync();
        await monitor._connected.Task.WaitAsync(TimeSpan.FromSeconds(10));
        history.AfterSettling(monitor.CatchUpAsync);
        return monitor;
    }

    public IReadOnlyList<TimeSpan> TimesOf(long token)
    {
        if (!_times.TryGetValue(token, out var times))
        {
            return [];
        }

        lock (times)
        {
            return [.. times];
        }
    }

    public bool Covers(TimeSpan from, TimeSpan to)
    {
        lock (_gaps)
        {
            foreach (var (gapFrom, gapTo) in _gaps)
            {
                if (gapFrom < to && gapTo > from)
                {
                    return false;
                }
            }

            return !_inGap || _last >= to;
        }
    }

    /// <summary>
    /// Waits until the feed has shown a command sent after the history settled: every command processed before it
    /// is then in the log. Without that, the log vouches for nothing.
    /// </summary>
    private async Task CatchUpAsync()
    {
        var marker = $"chaos-marker-{Guid.NewGuid():N}";
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _markers[marker] = seen;
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, _port);
            await socket.SendAsync(Encoding.ASCII.GetBytes($"ECHO {marker}\r\n"));
            await seen.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is SocketException or TimeoutException)
        {
            lock (_gaps)
            {
                _gaps.Add((TimeSpan.Zero, TimeSpan.MaxValue));
            }
        }
    }

    private async Task ReadAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(IPAddress.Loopback, _port, _stopping.Token);
                await socket.SendAsync("MONITOR\r\n"u8.ToArray(), _stopping.Token);
                await PumpAsync(socket);
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
            {
                // Redis down or the connection killed: try again shortly; what it missed meanwhile is a gap.
            }

            lock (_gaps)
            {
                _inGap = true;
            }

            try
            {
                await Task.Delay(50, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task PumpAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        var line = new List<byte>(256);
        while (true)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token);
            if (read == 0)
            {
                return;
            }

            for (var i = 0; i < read; i++)
            {
                if (buffer[i] != (byte)'\n')
                {
                    line.Add(buffer[i]);
                    continue;
                }

                OnLine(Encoding.Latin1.GetString(line.ToArray()).TrimEnd('\r'));
                line.Clear();
            }
        }
    }

    private void OnLine(string line)
    {
        if (line == "+OK")
        {
            _connected.TrySetResult();
            return;
        }

        // +1733189334.123456 [0 127.0.0.1:54321] "EVALSHA" "sha" "1" "key" "arg" ...
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        if (line.Length < 2 || line[0] != '+' || space < 0
            || !decimal.TryParse(line.AsSpan(1, space - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
        {
            return;
        }

        var at = TimeSpan.FromTicks((long)(seconds * TimeSpan.TicksPerSecond)) - _unixOffset;
        lock (_gaps)
        {
            if (_inGap)
            {
                _gaps.Add((_last, at));
                _inGap = false;
            }

            _last = at;
        }

        var arguments = Arguments(line, line.IndexOf(']', space));
        if (arguments.Count == 2 && arguments[0].Equals("ECHO", StringComparison.OrdinalIgnoreCase) && _markers.TryRemove(arguments[1], out var marker))
        {
            marker.TrySetResult();
            return;
        }

        if (arguments.Count == 0 || !arguments[0].StartsWith("EVAL", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        for (var i = 1; i < arguments.Count; i++)
        {
            var argument = arguments[i];
            if (argument.Length >= TokenMinimumDigits && long.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out var token))
            {
                var times = _times.GetOrAdd(token, static _ => []);
                lock (times)
                {
                    times.Add(at);
                }
            }
        }
    }

    /// <summary>The quoted arguments of a MONITOR line, escapes left as they are (only whole numbers are read from them).</summary>
    private static List<string> Arguments(string line, int from)
    {
        var arguments = new List<string>();
        var builder = new StringBuilder();
        var i = from < 0 ? 0 : from;
        while ((i = line.IndexOf('"', i)) >= 0)
        {
            builder.Clear();
            i++;
            while (i < line.Length && line[i] != '"')
            {
                if (line[i] == '\\' && i + 1 < line.Length)
                {
                    builder.Append(line[i]);
                    i++;
                }

                builder.Append(line[i]);
                i++;
            }

            arguments.Add(builder.ToString());
            i++;
        }

        return arguments;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_reading is not null)
        {
            await _reading;
        }

        _stopping.Dispose();
    }
}
