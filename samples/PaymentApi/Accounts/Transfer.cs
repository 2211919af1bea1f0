using System.Text.Json;
using System.Text.Json.Serialization;

namespace PaymentApi.Accounts;

/// <summary>
/// An account as the API returns it. <see cref="LastSequence"/> is the number of the last transfer request the ledger
/// processed for it, applied or declined: the client's next request carries <c>LastSequence + 1</c>.
/// </summary>
internal sealed record Account(string Id, long Balance, long LastSequence);

/// <summary>
/// A transfer out of an account, as the API returns it. <see cref="To"/> is an external payee reference: only the
/// source account's balance changes. Amounts are integers in minor units.
/// </summary>
internal sealed record Transfer(string Id, string From, string To, long Amount, long Sequence, DateTimeOffset CreatedAt);

/// <summary>The body of <c>POST /accounts/{accountId}/transfers</c>. Everything is nullable so a missing field is a validation error, not a malformed body.</summary>
internal sealed record CreateTransferRequest(string? To, long? Amount)
{
    public const long MaxAmount = 100_000_000;

    /// <summary>The problems with this request, keyed by JSON property (or route value) name; empty when valid.</summary>
    public Dictionary<string, string[]> Validate(string accountId)
    {
        var errors = new Dictionary<string, string[]>();
        if (!AccountId.IsValid(accountId))
        {
            errors["accountId"] = [AccountId.Rule("accountId")];
        }

        if (!AccountId.IsValid(To))
        {
            errors["to"] = [AccountId.Rule("to")];
        }
        else if (string.Equals(To, accountId, StringComparison.Ordinal))
        {
            errors["to"] = ["to must differ from the account the transfer is made from."];
        }

        if (Amount is not (>= 1 and <= MaxAmount))
        {
            errors["amount"] = [$"amount is required: an integer number of minor units between 1 and {MaxAmount}."];
        }

        return errors;
    }
}

/// <summary>The shape of account ids and payee references: 1 to 64 of <c>A-Z a-z 0-9 _ -</c>, compared case-sensitively.</summary>
internal static class AccountId
{
    public const int MaxLength = 64;

    public static bool IsValid(string? value) =>
        value is { Length: >= 1 and <= MaxLength } && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    public static string Rule(string name) =>
        $"{name} is required: 1 to {MaxLength} characters, each a letter, a digit, '_' or '-'.";
}

/// <summary>Source-generated JSON metadata for the accounts types: no reflection at run time, trimming-friendly.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(CreateTransferRequest))]
[JsonSerializable(typeof(Transfer))]
[JsonSerializable(typeof(Account))]
internal sealed partial class AccountJsonContext : JsonSerializerContext;
