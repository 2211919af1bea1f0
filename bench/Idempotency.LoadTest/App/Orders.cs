using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace Idempotency.LoadTest.App;

/// <summary>One line of an order.</summary>
public sealed record OrderLine(string Sku, int Quantity, decimal UnitPrice, string Description);

/// <summary>An order as the load generator posts it: lines make up the body's size, <see cref="Note"/> pads it exactly.</summary>
public sealed record OrderRequest(string CustomerId, string Note, List<OrderLine> Lines);

/// <summary>A line as the handler answers it, with its total.</summary>
public sealed record OrderLineResult(string Sku, int Quantity, decimal UnitPrice, decimal LineTotal, string Description);

/// <summary>What the handler answers: the order with an id, totals and a timestamp.</summary>
public sealed record OrderResponse(string Id, string CustomerId, string Status, DateTimeOffset CreatedAt, decimal Total, string Note, List<OrderLineResult> Lines);

/// <summary>Source-generated, as a performance-minded application would serialize.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(OrderRequest))]
[JsonSerializable(typeof(OrderResponse))]
public sealed partial class OrderJsonContext : JsonSerializerContext;

/// <summary>
/// The one handler every mode serves, so that the baseline and the idempotent endpoints do the same work and differ
/// only in the middleware in front of them.
/// </summary>
/// <remarks>
/// The work is what a small create-endpoint does: deserialize the JSON request (a customer and order lines), validate
/// it, make an id, compute line totals and a total, stamp the time, and serialize a JSON response about 15 % larger than
/// the request with a 201 and a Location header. Large bodies are many small lines, as real payloads are, not one
/// huge string (which would land on the large object heap and measure the GC instead). It does no I/O of its own, so
/// it is the cheapest realistic handler: a replay, which skips it, saves the least here, and every ratio to the
/// baseline is the hardest it can be for the middleware. The database modes serve the same work plus one write
/// (<c>CreateAndStoreAsync</c>, in OrderHandlers.Database.cs), with and without idempotency, for the relational store's rows.
/// </remarks>
public static partial class OrderHandlers
{
    /// <summary>Sizes the load test uses for request bodies.</summary>
    public static readonly int[] BodySizes = [100, 4 * 1024, 64 * 1024];

    private const string Prefix = "{\"customerId\":\"cus_0042\",\"note\":\"";
    private const string Middle = "\",\"lines\":[";
    private const string Suffix = "]}";
    private const string Description = "stoneware mug, 350 ml, glazed, dishwasher safe";
    private const string NoteText = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ";

    private static readonly Dictionary<int, OrderResponse> Catalog = BodySizes.ToDictionary(size => size, CatalogEntry);

    private static long _executions;

    /// <summary>How often a handler ran: a replay must not run it, and the runner checks that it did not.</summary>
    public static long Executions => Interlocked.Read(ref _executions);

    /// <summary>POST /orders: creates an order from the JSON body.</summary>
    public static async Task CreateAsync(HttpContext context)
    {
        Interlocked.Increment(ref _executions);
        var response = await PriceAsync(context);
        if (response is not null)
        {
            await WriteCreatedAsync(context, response);
        }
    }

    /// <summary>Reads and validates the order and prices it; <see langword="null"/> after answering 400 to an invalid one.</summary>
    private static async Task<OrderResponse?> PriceAsync(HttpContext context)
    {
        var order = await context.Request.ReadFromJsonAsync(OrderJsonContext.Default.OrderRequest, context.RequestAborted);
        if (order is null || string.IsNullOrEmpty(order.CustomerId) || order.Lines.Any(line => line.Quantity <= 0))
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return null;
        }

        var id = "ord_" + Guid.NewGuid().ToString("N");
        var lines = Price(order.Lines, out var total);
        return new OrderResponse(id, order.CustomerId, "accepted", DateTimeOffset.UtcNow, total, order.Note, lines);
    }

    private static Task WriteCreatedAsync(HttpContext context, OrderResponse response)
    {
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.Headers.Location = "/orders/" + response.Id;
        return context.Response.WriteAsJsonAsync(response, OrderJsonContext.Default.OrderResponse, contentType: null, context.RequestAborted);
    }

    /// <summary>GET /orders/{size}: the same serialization for a read, the request shape output caching serves.</summary>
    public static Task GetAsync(HttpContext context)
    {
        Interlocked.Increment(ref _executions);
        var size = int.Parse((string)context.Request.RouteValues["size"]!, CultureInfo.InvariantCulture);
        if (!Catalog.TryGetValue(size, out var entry))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        return context.Response.WriteAsJsonAsync(entry with { CreatedAt = DateTimeOffset.UtcNow }, OrderJsonContext.Default.OrderResponse, contentType: null, context.RequestAborted);
    }

    /// <summary>A request body of exactly <paramref name="size"/> bytes (at least 50): as many lines as fit, then a padded note.</summary>
    public static byte[] CreateRequestBody(int size)
    {
        var body = new StringBuilder(size);
        var lines = new List<string>();
        var fixedLength = Prefix.Length + Middle.Length + Suffix.Length;
        var length = fixedLength;
        for (var i = 1; ; i++)
        {
            var line = Line(i);
            var added = line.Length + (lines.Count > 0 ? 1 : 0);
            if (length + added > size - 16)
            {
                break;
            }

            lines.Add(line);
            length += added;
        }

        var noteLength = size - length;
        if (noteLength < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, $"A request body has at least {fixedLength} bytes.");
        }

        body.Append(Prefix).Append(NoteOfLength(noteLength)).Append(Middle).AppendJoin(',', lines).Append(Suffix);
        var bytes = Encoding.UTF8.GetBytes(body.ToString());
        return bytes.Length == size ? bytes : throw new InvalidOperationException($"Built {bytes.Length} bytes for {size}.");
    }

    private static string Line(int i)
        => string.Create(CultureInfo.InvariantCulture, $"{{\"sku\":\"SKU-{i:D5}\",\"quantity\":{i % 7 + 1},\"unitPrice\":{12.5m + i % 10},\"description\":\"{Description}\"}}");

    private static List<OrderLineResult> Price(List<OrderLine> lines, out decimal total)
    {
        var result = new List<OrderLineResult>(lines.Count);
        total = 0m;
        foreach (var line in lines)
        {
            var lineTotal = line.Quantity * line.UnitPrice;
            total += lineTotal;
            result.Add(new OrderLineResult(line.Sku, line.Quantity, line.UnitPrice, lineTotal, line.Description));
        }

        return result;
    }

    private static OrderResponse CatalogEntry(int size)
    {
        var request = JsonSerializer.Deserialize(CreateRequestBody(size), OrderJsonContext.Default.OrderRequest)!;
        var lines = Price(request.Lines, out var total);
        return new OrderResponse("ord_" + size.ToString(CultureInfo.InvariantCulture), request.CustomerId, "accepted", DateTimeOffset.UtcNow, total, request.Note, lines);
    }

    private static string NoteOfLength(int length)
    {
        var builder = new StringBuilder(length);
        while (builder.Length < length)
        {
            builder.Append(NoteText, 0, Math.Min(NoteText.Length, length - builder.Length));
        }

        return builder.ToString();
    }
}
