using Microsoft.Extensions.Primitives;

namespace Idempotency.Storage;

/// <summary>A snapshot of a completed response, as kept by a store and replayed to retries.</summary>
public sealed class StoredResponse
{
    /// <summary>Creates a snapshot.</summary>
    /// <param name="statusCode">The HTTP status code.</param>
    /// <param name="headers">The response headers to replay, already filtered.</param>
    /// <param name="body">The response body; empty when <paramref name="isBodyStored"/> is <see langword="false"/>.</param>
    /// <param name="isBodyStored">
    /// <see langword="false"/> when the body was larger than the policy's snapshot limit and was not kept: such a
    /// response cannot be replayed, only reported.
    /// </param>
    public StoredResponse(int statusCode, IReadOnlyList<KeyValuePair<string, StringValues>> headers, ReadOnlyMemory<byte> body, bool isBodyStored = true)
    {
        ArgumentNullException.ThrowIfNull(headers);
        if (statusCode is < 100 or > 999)
        {
            throw new ArgumentOutOfRangeException(nameof(statusCode), statusCode, "A status code has three digits.");
        }

        if (!isBodyStored && !body.IsEmpty)
        {
            throw new ArgumentException("A response whose body is not stored must have an empty body.", nameof(body));
        }

        StatusCode = statusCode;
        Headers = headers;
        Body = body;
        IsBodyStored = isBodyStored;
    }

    /// <summary>The HTTP status code.</summary>
    public int StatusCode { get; }

    /// <summary>The response headers to replay, in their original order.</summary>
    public IReadOnlyList<KeyValuePair<string, StringValues>> Headers { get; }

    /// <summary>The response body.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>Whether <see cref="Body"/> holds the whole original body; <see langword="false"/> when it was too large to keep.</summary>
    public bool IsBodyStored { get; }
}
