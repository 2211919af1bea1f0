using System.Text.Json;
using Idempotency.Fingerprinting;
using Microsoft.AspNetCore.Http;

namespace Idempotency.Keys;

/// <summary>
/// Takes the key from a member of the JSON body: reads at most the policy's bound, parses it with the canonical
/// form's limits, and rewinds the body for the fingerprint and the handler.
/// </summary>
internal sealed class JsonMemberKeyResolver : IKeySourceDescription
{
    private readonly string[] _tokens;

    public JsonMemberKeyResolver(string pointer, string[] tokens)
    {
        _tokens = tokens;
        Description = $"the member {pointer} of the JSON body";
    }

    public string Description { get; }

    public async ValueTask<string?> ResolveAsync(KeyResolverArguments arguments)
    {
        var request = arguments.Context.Request;
        if (!RequestFingerprinter.IsJson(request.ContentType) || !RequestFingerprinter.MayHaveBody(request))
        {
            return null;
        }

        request.EnableBuffering();
        var body = request.Body;
        body.Position = 0;
        using var raw = await CanonicalJson.ReadBoundedAsync(body, arguments.MaxBodyBytes, request.ContentLength, arguments.CancellationToken).ConfigureAwait(false)
            ?? throw new BadHttpRequestException(
                $"the body is longer than {arguments.MaxBodyBytes} bytes, the most read to find the idempotency key in {Description}.",
                StatusCodes.Status413PayloadTooLarge);
        body.Position = 0;

        try
        {
            using var document = CanonicalJson.Parse(raw.WrittenMemory);
            var element = document.RootElement;
            foreach (var token in _tokens)
            {
                if (!TryStep(ref element, token))
                {
                    return null;
                }
            }

            return element.ValueKind switch
            {
                JsonValueKind.String => element.GetString(),
                JsonValueKind.Number => element.GetRawText(),
                _ => null,
            };
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string with an unpaired surrogate escape cannot be read as text.
            throw new BadHttpRequestException(
                $"the body is not valid JSON, so the idempotency key in {Description} cannot be read.", StatusCodes.Status400BadRequest, ex);
        }
    }

    private static bool TryStep(ref JsonElement element, string token)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            return element.TryGetProperty(token, out element);
        }

        if (element.ValueKind == JsonValueKind.Array && JsonPointer.TryGetIndex(token, out var index) && index < element.GetArrayLength())
        {
            element = element[index];
            return true;
        }

        return false;
    }
}
