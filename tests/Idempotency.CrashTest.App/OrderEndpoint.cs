using System.Text;
using System.Text.Encodings.Web;
using Microsoft.Extensions.Options;

namespace Idempotency.CrashTest.App;

/// <summary>
/// <c>POST /orders</c>: inserts one order row for the request's <c>Idempotency-Key</c> through the scoped
/// <see cref="CrashDbContext"/> (so that in transactional mode the write joins the middleware's transaction), with
/// random pauses before and after the write, and answers 201 with a body naming this execution.
/// </summary>
public static class OrderEndpoint
{
    public const string Path = "/orders";

    /// <summary>The harness's id of the attempt, recorded with the execution it caused.</summary>
    public const string RequestIdHeader = "X-Request-Id";

    private const int MaxPayloadBytes = 16 * 1024;

    public static async Task HandleAsync(HttpContext context, CrashDbContext db, IOptions<CrashOptions> options)
    {
        var settings = options.Value;
        var request = context.Request;
        var key = request.Headers["Idempotency-Key"].ToString();
        if (!long.TryParse(request.Headers[RequestIdHeader].ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var requestId))
        {
            await Results.Problem(statusCode: StatusCodes.Status400BadRequest, detail: $"{RequestIdHeader} must be a number.").ExecuteAsync(context);
            return;
        }

        var payload = await ReadPayloadAsync(request);
        if (payload is null)
        {
            await Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, detail: $"The body is limited to {MaxPayloadBytes} bytes.").ExecuteAsync(context);
            return;
        }

        await PauseAsync(settings.BeforeSaveMilliseconds);
        var id = Guid.NewGuid();
        var body = $"{{\"key\":\"{JavaScriptEncoder.Default.Encode(key)}\",\"id\":\"{id}\",\"instance\":\"{settings.Instance}\",\"request\":{requestId}}}";
        db.Orders.Add(new Order { Key = key, Id = id, Payload = payload, Instance = settings.Instance, RequestId = requestId, Response = body });

        // Not the request's token: a real handler that has begun its write finishes it whatever the client does.
        await db.SaveChangesAsync(CancellationToken.None);
        await PauseAsync(settings.AfterSaveMilliseconds);

        var bytes = Encoding.UTF8.GetBytes(body);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status201Created;
        response.Headers.Location = $"{Path}/{id}";
        response.ContentType = "application/json";
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, CancellationToken.None);
    }

    private static async Task<string?> ReadPayloadAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await request.Body.ReadAsync(chunk)) > 0)
        {
            if (buffer.Length + read > MaxPayloadBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static Task PauseAsync(int maxMilliseconds)
        => maxMilliseconds > 0 ? Task.Delay(Random.Shared.Next(maxMilliseconds + 1)) : Task.CompletedTask;
}
