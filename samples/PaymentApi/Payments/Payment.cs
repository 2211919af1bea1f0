using System.Text.Json;
using System.Text.Json.Serialization;

namespace PaymentApi.Payments;

/// <summary>A payment as the API returns it. Amounts are integers in the currency's minor unit (cents).</summary>
internal sealed record Payment(string Id, long Amount, string Currency, string? Description, string Status, DateTimeOffset CreatedAt);

/// <summary>The body of <c>POST /payments</c>. Everything is nullable so a missing field is a validation error, not a malformed body.</summary>
internal sealed record CreatePaymentRequest(long? Amount, string? Currency, string? Description)
{
    public const long MaxAmount = 100_000_000;
    public const int MaxDescriptionLength = 500;

    /// <summary>The problems with this request, keyed by JSON property name as <c>ValidationProblem</c> reports them; empty when valid.</summary>
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (Amount is not (>= 1 and <= MaxAmount))
        {
            errors["amount"] = [$"amount is required: an integer number of minor units between 1 and {MaxAmount}."];
        }

        if (Currency is not { Length: 3 } || !Currency.All(char.IsAsciiLetterUpper))
        {
            errors["currency"] = ["currency is required: a three-letter ISO 4217 code in upper case, such as EUR."];
        }

        if (Description is { Length: > MaxDescriptionLength })
        {
            errors["description"] = [$"description must be at most {MaxDescriptionLength} characters."];
        }

        return errors;
    }
}

/// <summary>Source-generated JSON metadata for the sample's types: no reflection at run time, trimming-friendly.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(CreatePaymentRequest))]
[JsonSerializable(typeof(Payment))]
[JsonSerializable(typeof(IReadOnlyList<Payment>))]
internal sealed partial class PaymentJsonContext : JsonSerializerContext;
