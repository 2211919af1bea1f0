using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Idempotency.Chaos.Hosting;

/// <summary>Sends a <see cref="RawRequest"/> over its own socket and reads the whole response (Connection: close).</summary>
public static class RawHttp
{
    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(20);

    public sealed record Response(int Status, Dictionary<string, string> Headers, byte[] Body, string? Error);

    public static async Task<Response> SendAsync(int port, RawRequest request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(ResponseTimeout);
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            await SendAllAsync(socket, request.Head(), timeout.Token);
            var limit = Math.Min(request.StopAfterBodyBytes ?? request.Body.Length, request.Body.Length);
            for (var sent = 0; sent < limit;)
            {
                var size = Math.Min(request.ChunkSize, limit - sent);
                var chunk = request.Body.AsMemory(sent, size);
                if (request.Chunked)
                {
                    await SendAllAsync(socket, Encoding.ASCII.GetBytes(size.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), timeout.Token);
                    await SendAllAsync(socket, chunk, timeout.Token);
                    await SendAllAsync(socket, "\r\n"u8.ToArray(), timeout.Token);
                }
                else
                {
                    await SendAllAsync(socket, chunk, timeout.Token);
                }

                sent += size;
                if (request.ChunkDelay > TimeSpan.Zero)
                {
                    await Task.Delay(request.ChunkDelay, timeout.Token);
                }
            }

            if (request.Chunked && request.StopAfterBodyBytes is null)
            {
                await SendAllAsync(socket, "0\r\n\r\n"u8.ToArray(), timeout.Token);
            }

            if (request.Abort)
            {
                await Task.Delay(request.AbortAfterSent, timeout.Token);
                if (request.AbortWhen is { } abortWhen)
                {
                    await abortWhen(timeout.Token);
                }

                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
                return new Response(0, [], [], "aborted by the client");
            }

            return Parse(await ReadToEndAsync(socket, timeout.Token));
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or IOException)
        {
            return new Response(0, [], [], $"{ex.GetType().Name}: {ex.Message}");
        }
    }

    private static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await socket.SendAsync(bytes, SocketFlags.None, cancellationToken);
            bytes = bytes[sent..];
        }
    }

    private static async Task<byte[]> ReadToEndAsync(Socket socket, CancellationToken cancellationToken)
    {
        var all = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
            {
                all.Write(buffer, 0, read);
            }
        }
        catch (SocketException) when (all.Length > 0)
        {
            // The server answered, then reset the connection (it does so after refusing a body it did not read).
        }

        return all.ToArray();
    }

    private static Response Parse(byte[] raw)
    {
        var end = raw.AsSpan().IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return new Response(0, [], [], raw.Length == 0 ? "connection closed without a response" : "incomplete response head");
        }

        var lines = Encoding.Latin1.GetString(raw, 0, end).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        var body = raw.AsSpan(end + 4);
        return new Response(status, headers, headers.TryGetValue("Transfer-Encoding", out var coding) && coding.Contains("chunked", StringComparison.OrdinalIgnoreCase)
            ? Dechunk(body)
            : body.ToArray(), null);
    }

    private static byte[] Dechunk(ReadOnlySpan<byte> body)
    {
        var result = new MemoryStream();
        while (true)
        {
            var lineEnd = body.IndexOf("\r\n"u8);
            if (lineEnd < 0)
            {
                return result.ToArray();
            }

            var size = int.Parse(Encoding.ASCII.GetString(body[..lineEnd]).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                return result.ToArray();
            }

            result.Write(body.Slice(lineEnd + 2, size));
            body = body[(lineEnd + 2 + size + 2)..];
        }
    }
}
