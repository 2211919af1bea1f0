using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Idempotency.Testing.Redis;

/// <summary>
/// A TCP forwarder on 127.0.0.1 that a replica replicates through (<c>replicaof 127.0.0.1 Port</c>). It holds every
/// chunk the primary sends for <see cref="Delay"/> before passing it on, as a slow or congested link between two data
/// centres would; the replica's acknowledgements go back at once. When the primary's side closes (the primary
/// crashed), what it still holds is dropped, not delivered: the bytes a dead primary had not yet put on the wire. So a
/// write is lost in a failover exactly when it reached the primary less than <see cref="Delay"/> before the crash.
/// </summary>
public sealed class ReplicationLinkProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _primaryPort;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new();
    private readonly Task _acceptLoop;
    private long _delayTicks;

    /// <param name="primaryPort">The primary's port.</param>
    /// <param name="delay">How long each chunk from the primary is held.</param>
    public ReplicationLinkProxy(int primaryPort, TimeSpan delay)
    {
        _primaryPort = primaryPort;
        Delay = delay;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptAsync();
    }

    /// <summary>The port the replica replicates from.</summary>
    public int Port { get; }

    /// <summary>How long each chunk from the primary is held before it reaches the replica.</summary>
    public TimeSpan Delay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _delayTicks));
        set => Interlocked.Exchange(ref _delayTicks, value.Ticks);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        foreach (var socket in _sockets.Keys)
        {
            socket.Dispose();
        }

        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var replica = await _listener.AcceptSocketAsync(_stopping.Token);
            _ = ForwardAsync(replica);
        }
    }

    private async Task ForwardAsync(Socket replica)
    {
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        // No Nagle on either side, as Redis sets on its own sockets: a small GETACK or ACK held back for a delayed TCP
        // acknowledgement would add some 40 ms to every WAIT.
        var primary = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        replica.NoDelay = true;
        _sockets[replica] = 0;
        _sockets[primary] = 0;
        try
        {
            await primary.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _primaryPort), connection.Token);
            var held = Channel.CreateUnbounded<(long Due, byte[] Bytes)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            var toReplica = DeliverAsync(held.Reader, replica, connection.Token);
            var toPrimary = PumpAsync(replica, primary, connection.Token);
            var fromPrimary = HoldAsync(primary, held.Writer, connection.Token);

            // Whichever side ends first ends the link: the primary's end drops what is held, as a crash does.
            await Task.WhenAny(fromPrimary, toPrimary, toReplica);
            await connection.CancelAsync();
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            // The primary is gone or the proxy stops: the replica sees its link drop and retries.
        }
        finally
        {
            // A reset, not a graceful close, so that nothing still in the proxy's hands reaches the replica.
            replica.LingerState = new LingerOption(true, 0);
            replica.Dispose();
            primary.Dispose();
            _sockets.TryRemove(replica, out _);
            _sockets.TryRemove(primary, out _);
        }
    }

    private async Task HoldAsync(Socket primary, ChannelWriter<(long Due, byte[] Bytes)> held, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await primary.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (read == 0)
                {
                    return;
                }

                held.TryWrite((Stopwatch.GetTimestamp() + (long)(Delay.TotalSeconds * Stopwatch.Frequency), buffer[..read]));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The link ends.
        }
        finally
        {
            held.TryComplete();
        }
    }

    private static async Task DeliverAsync(ChannelReader<(long Due, byte[] Bytes)> held, Socket replica, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var (due, bytes) in held.ReadAllAsync(cancellationToken))
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken);
                }

                // Checked after the delay: a primary that died meanwhile never sent these bytes.
                cancellationToken.ThrowIfCancellationRequested();
                await replica.SendAsync(bytes, SocketFlags.None, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The link ends.
        }
    }

    private static async Task PumpAsync(Socket from, Socket to, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (read == 0)
                {
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The link ends.
        }
    }
}
