using System.Text;
using Idempotency.Storage;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Testing.Properties;

/// <summary>The responses generated completes store: different statuses, header shapes and bodies, one without its body.</summary>
internal static class PropertyResponses
{
    private static readonly StoredResponse[] All =
    [
        new(201, [new("Content-Type", "application/json"), new("Location", "/payments/1")], Encoding.UTF8.GetBytes("""{"id":1}""")),
        new(200, [new("Link", new StringValues(["</a>; rel=\"next\"", "</b>; rel=\"prev\""])), new("X-Empty", ""), new("X-Text", "café 🙂")], AllByteValues()),
        new(204, [], ReadOnlyMemory<byte>.Empty),
        new(202, [new("Location", "/jobs/7")], ReadOnlyMemory<byte>.Empty, isBodyStored: false),
    ];

    public static int Count => All.Length;

    public static StoredResponse Get(int index) => All[index];

    /// <summary>Where <paramref name="actual"/> differs from response <paramref name="expected"/>; null when it is the same, header order included.</summary>
    public static string? Difference(int expected, StoredResponse? actual)
    {
        if (actual is null)
        {
            return "no response";
        }

        var want = All[expected];
        if (want.StatusCode != actual.StatusCode)
        {
            return $"status {actual.StatusCode}, expected {want.StatusCode} (response {expected})";
        }

        if (want.IsBodyStored != actual.IsBodyStored || !want.Body.Span.SequenceEqual(actual.Body.Span))
        {
            return $"body of {actual.Body.Length} bytes (stored: {actual.IsBodyStored}), expected response {expected}'s";
        }

        if (want.Headers.Count != actual.Headers.Count)
        {
            return $"{actual.Headers.Count} headers, expected {want.Headers.Count} (response {expected})";
        }

        for (var i = 0; i < want.Headers.Count; i++)
        {
            if (want.Headers[i].Key != actual.Headers[i].Key || !want.Headers[i].Value.ToArray().SequenceEqual(actual.Headers[i].Value.ToArray()))
            {
                return $"header {i} is {actual.Headers[i].Key}: {actual.Headers[i].Value}, expected {want.Headers[i].Key}: {want.Headers[i].Value}";
            }
        }

        return null;
    }

    private static byte[] AllByteValues()
    {
        var body = new byte[256];
        for (var i = 0; i < body.Length; i++)
        {
            body[i] = (byte)(255 - i);
        }

        return body;
    }
}
