using System.Security.Cryptography;
using Idempotency.Storage;

namespace Idempotency.Admin.Views;

/// <summary>A stored response as the admin endpoints show it: the body by size and hash, its contents only when asked and allowed.</summary>
internal sealed class ResponseView
{
    public required int StatusCode { get; init; }

    public required HeaderView[] Headers { get; init; }

    /// <summary>False when the body was over the snapshot limit and only the status was kept: a retry cannot replay it.</summary>
    public required bool BodyStored { get; init; }

    public long? BodyBytes { get; init; }

    /// <summary>SHA-256 of the stored body, upper-case hex: compares bodies without showing them.</summary>
    public string? BodySha256 { get; init; }

    public string? BodyBase64 { get; init; }

    public static ResponseView Of(StoredResponse response, bool includeBody)
    {
        var headers = new HeaderView[response.Headers.Count];
        for (var i = 0; i < headers.Length; i++)
        {
            var header = response.Headers[i];
            headers[i] = new HeaderView { Name = header.Key, Values = header.Value.ToArray() };
        }

        var body = response.Body.Span;
        return new ResponseView
        {
            StatusCode = response.StatusCode,
            Headers = headers,
            BodyStored = response.IsBodyStored,
            BodyBytes = response.IsBodyStored ? body.Length : null,
            BodySha256 = response.IsBodyStored ? Convert.ToHexString(SHA256.HashData(body)) : null,
            BodyBase64 = includeBody && response.IsBodyStored ? Convert.ToBase64String(body) : null,
        };
    }
}
