using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Idempotency.Chaos.Faults;

/// <summary>
/// A TCP forwarder on 127.0.0.1 between the apps and Redis. It can delay every chunk it forwards (in both directions)
/// and drop every open connection at once with a reset, as a flaky network or a failing load balancer would.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, (Socket Client, Socket Upstream)> _connections = new();
    private readonly Task _acceptLoop;
    private long _lastConnection;
    private long _latencyTicks;
    private int _drops;

    public TcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>Added before each chunk is forwarded, in either direction.</summary>
    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks));
        set => Interlocked.Exchange(ref _latencyTicks, value.Ticks);
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
