using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Idempotency.Testing.Redis;

/// <summary>
/// A minimal RESP2 client on its own short-lived socket, for administering test servers (PING, CLUSTER INFO, INFO,
/// CONFIG RESETSTAT, SCRIPT FLUSH). It keeps these commands off the store's connection, so measurements of the store's
/// traffic are not disturbed by the measuring, and it works before any multiplexer could connect.
/// </summary>
public static class Resp
{
    public static async Task<object?> ExecuteAsync(int port, params string[] arguments)
    {
        using var client = new TcpClient { NoDelay = true };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await client.ConnectAsync("127.0.0.1", port, timeout.Token);
        var stream = client.GetStream();

        var request = new StringBuilder();
        request.Append('*').Append(arguments.Length).Append("\r\n");
        foreach (var argument in arguments)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(argument)).Append("\r\n").Append(argument).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), timeout.Token);
        var reader = new ReplyReader(stream, timeout.Token);
        return await reader.ReadAsync();
    }

    public static async Task<string> ExecuteStringAsync(int port, params string[] arguments)
        => (string?)await ExecuteAsync(port, arguments) ?? throw new InvalidOperationException($"{arguments[0]} answered nil.");

    /// <summary>Whether a server answers PING on <paramref name="port"/> right now.</summary>
    public static async Task<bool> PingAsync(int port)
    {
        try
        {
            return (string?)await ExecuteAsync(port, "PING") == "PONG";
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or RespErrorException)
        {
            return false;
        }
    }

    private sealed class ReplyReader(NetworkStream stream, CancellationToken cancellationToken)
    {
        private readonly byte[] _buffer = new byte[8192];
        private int _start;
        private int _end;

        public async Task<object?> ReadAsync()
        {
            var line = await ReadLineAsync();
            var payload = line[1..];
            switch (line[0])
            {
                case '+':
                    return payload;
                case '-':
                    throw new RespErrorException(payload);
                case ':':
                    return long.Parse(payload, CultureInfo.InvariantCulture);
                case '$':
                    var length = int.Parse(payload, CultureInfo.InvariantCulture);
                    if (length < 0)
                    {
                        return null;
                    }

                    var bytes = await ReadExactlyAsync(length + 2);
                    return Encoding.UTF8.GetString(bytes, 0, length);
                case '*':
                    var count = int.Parse(payload, CultureInfo.InvariantCulture);
                    if (count < 0)
                    {
                        return null;
                    }

                    var items = new object?[count];
                    for (var i = 0; i < count; i++)
                    {
                        items[i] = await ReadAsync();
                    }

                    return items;
                default:
                    throw new InvalidDataException($"Unexpected RESP reply: {line}");
            }
        }

        private async Task<string> ReadLineAsync()
        {
            while (true)
            {
                var index = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (index > _start && _buffer[index - 1] == '\r')
                {
                    var line = Encoding.UTF8.GetString(_buffer, _start, index - 1 - _start);
                    _start = index + 1;
                    return line;
                }

                await FillAsync();
            }
        }

        private async Task<byte[]> ReadExactlyAsync(int count)
        {
            var result = new byte[count];
            var copied = 0;
            while (copied < count)
            {
                if (_start == _end)
                {
                    await FillAsync();
                }

                var take = Math.Min(count - copied, _end - _start);
                Array.Copy(_buffer, _start, result, copied, take);
                _start += take;
                copied += take;
            }

            return result;
        }

        private async Task FillAsync()
        {
            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                throw new InvalidDataException("A RESP line is longer than the reader's buffer.");
            }

            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0)
            {
                throw new IOException("The Redis server closed the connection.");
            }

            _end += read;
        }
    }
}
