using System.Globalization;
using System.Text;

namespace Idempotency.Chaos.Hosting;

/// <summary>
/// An HTTP/1.1 request written byte by byte, for input HttpClient refuses to send (control characters, non-ASCII,
/// duplicate header lines) and for bodies that trickle, stall or are cut off.
/// </summary>
public sealed class RawRequest
{
    private readonly List<(string Name, byte[] Value)> _headers = [];

    public RawRequest(string path, byte[] body)
    {
        Path = path;
        Body = body;
    }

    public string Path { get; }

    public byte[] Body { get; }

    /// <summary>Send the body chunked instead of with Content-Length, so its size is only known once it has been read.</summary>
    public bool Chunked { get; init; }

    /// <summary>Bytes per write of the body, and the pause after each.</summary>
    public int ChunkSize { get; init; } = int.MaxValue;

    public TimeSpan ChunkDelay { get; init; }

    /// <summary>Stop after this many body bytes; then either reset the connection or wait for the server's answer.</summary>
    public int? StopAfterBodyBytes { get; init; }

    /// <summary>Reset the connection (RST) instead of sending or waiting further.</summary>
    public bool Abort { get; init; }

    /// <summary>With <see cref="Abort"/> and the whole request sent: wait this long, then reset before the response.</summary>
    public TimeSpan AbortAfterSent { get; init; }

    /// <summary>
    /// With <see cref="Abort"/> and the whole request sent: reset once this completes (after <see cref="AbortAfterSent"/>),
    /// so a scenario can vanish at a moment the server has provably reached rather than after a guess at its speed.
    /// </summary>
    public Func<CancellationToken, Task>? AbortWhen { get; init; }

    public RawRequest Header(string name, string value) => Header(name, Encoding.Latin1.GetBytes(value));

    public RawRequest Header(string name, byte[] value)
    {
        _headers.Add((name, value));
        return this;
    }

    public byte[] Head()
    {
        var head = new MemoryStream();
        Write(head, $"POST {Path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n");
        Write(head, Chunked ? "Transfer-Encoding: chunked\r\n" : $"Content-Length: {Body.Length.ToString(CultureInfo.InvariantCulture)}\r\n");
        foreach (var (name, value) in _headers)
        {
            Write(head, name + ": ");
            head.Write(value);
            Write(head, "\r\n");
        }

        Write(head, "\r\n");
        return head.ToArray();
    }

    private static void Write(MemoryStream stream, string text) => stream.Write(Encoding.Latin1.GetBytes(text));
}
