using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Idempotency.Chaos.Faults;

/// <summary>
/// A TCP forwarder on 127.0.0.1 between the apps and Redis. It can delay every chunk it forwards (in both directions)
/// and drop every open connection at once with a reset, as a flaky network or a failing load balancer would. It keeps
/// the history of its latency on the run's clock: every chunk waits the latency in effect when it was read, so a store
/// call through it spent at least the lowest latency of its time on each leg (<see cref="MinimumLatency"/>), which
/// is evidence for when the call can have reached Redis.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, (Socket Client, Socket Upstream)> _connections = new();
    private readonly Task _acceptLoop;
    private readonly Func<TimeSpan> _clock;
    private readonly List<(TimeSpan At, TimeSpan Latency)> _latencies = [(TimeSpan.Zero, TimeSpan.Zero)];
    private long _lastConnection;
    private long _latencyTicks;
    private int _drops;

    /// <param name="targetPort">Redis's port.</param>
    /// <param name="clock">The run's clock, on which latency changes are recorded.</param>
    public TcpProxy(int targetPort, Func<TimeSpan> clock)
    {
        _targetPort = targetPort;
        _clock = clock;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>Added before each chunk is forwarded, in either direction.</summary>
    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks));
        set
        {
            // While the change is under way a chunk may wait either value: the lower one is on record from before the
            // switch until after it.
            lock (_latencies)
            {
                var current = Latency;
                _latencies.Add((_clock(), value < current ? value : current));
                Interlocked.Exchange(ref _latencyTicks, value.Ticks);
                _latencies.Add((_clock(), value));
            }
        }
    }

    /// <summary>
    /// The lowest latency in effect at any moment from <paramref name="from"/> to <paramref name="to"/> on the run's
    /// clock: a lower bound on the time each leg of a call made in that interval spent in the proxy.
    /// </summary>
    public TimeSpan MinimumLatency(TimeSpan from, TimeSpan to)
    {
        lock (_latencies)
        {
            var minimum = TimeSpan.MaxValue;
            for (var i = 0; i < _latencies.Count; i++)
            {
                var (at, latency) = _latencies[i];
                var until = i + 1 < _latencies.Count ? _latencies[i + 1].At : TimeSpan.MaxValue;
                if (at <= to && until >= from && latency < minimum)
                {
                    minimum = latency;
                }
            }

            return minimum == TimeSpan.MaxValue ? TimeSpan.Zero : minimum;
        }
    }

    /// <summary>How many connections <see cref="DropAll"/> has reset.</summary>
    public int Drops => Volatile.Read(ref _drops);

    /// <summary>Resets every open connection; new ones are accepted as before.</summary>
    public void DropAll()
    {
        foreach (var (id, pair) in _connections)
        {
            if (_connections.TryRemove(id, out _))
            {
                Reset(pair.Client);
                Reset(pair.Upstream);
                Interlocked.Increment(ref _drops);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        DropAll();
        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The listener was stopped under the loop.
        }

        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var client = await _listener.AcceptSocketAsync(_stopping.Token);
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await upstream.ConnectAsync(IPAddress.Loopback, _targetPort, _stopping.Token);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            // Nothing listens behind the proxy (Redis down): the client sees a reset, as it would without the proxy.
            Reset(client);
            upstream.Dispose();
            return;
        }

        var id = Interlocked.Increment(ref _lastConnection);
        _connections[id] = (client, upstream);
        await Task.WhenAll(PumpAsync(client, upstream), PumpAsync(upstream, client));
        if (_connections.TryRemove(id, out _))
        {
            client.Dispose();
            upstream.Dispose();
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                var latency = Latency;
                if (latency > TimeSpan.Zero)
                {
                    await Task.Delay(latency, _stopping.Token);
                }

                var sent = 0;
                while (sent < read)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None, _stopping.Token);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // One side went away or was dropped; the other pump ends the same way.
            Reset(from);
            Reset(to);
        }
    }

    /// <summary>Closes with RST rather than FIN: the peer sees a connection that broke, not one that ended.</summary>
    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }

        socket.Dispose();
    }
}
