using Microsoft.Extensions.Options;

namespace Idempotency.Client.Internal;

/// <summary>Validates <see cref="IdempotencyClientOptions"/>, with messages that name the option.</summary>
internal sealed class IdempotencyClientOptionsValidator : IValidateOptions<IdempotencyClientOptions>
{
    internal const int MaxStreamLength = 128;

    private static readonly TimeSpan MaxDelay = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, IdempotencyClientOptions options)
    {
        List<string>? failures = null;

        void Fail(string message) => (failures ??= []).Add(message);

        ValidateHeaderName(options.KeyHeaderName, nameof(IdempotencyClientOptions.KeyHeaderName), Fail);
        ValidateHeaderName(options.SequenceNumberHeaderName, nameof(IdempotencyClientOptions.SequenceNumberHeaderName), Fail);
        ValidateHeaderName(options.SequenceStreamHeaderName, nameof(IdempotencyClientOptions.SequenceStreamHeaderName), Fail);
        ValidateHeaderName(options.SequenceEpochHeaderName, nameof(IdempotencyClientOptions.SequenceEpochHeaderName), Fail);

        if (options.Methods.Count == 0)
        {
            Fail($"{nameof(IdempotencyClientOptions.Methods)} must name at least one method; to leave a client's requests alone, don't add the handler.");
        }
        else if (options.Methods.Contains(null!))
        {
            Fail($"{nameof(IdempotencyClientOptions.Methods)} must not contain null.");
        }

        if (options.KeyFactory is null)
        {
            Fail($"{nameof(IdempotencyClientOptions.KeyFactory)} must not be null.");
        }

        if (options.MaxAttempts < 1)
        {
            Fail($"{nameof(IdempotencyClientOptions.MaxAttempts)} must be at least 1; it is {options.MaxAttempts}.");
        }

        if (options.MaxRetryAfter < TimeSpan.Zero || options.MaxRetryAfter > MaxDelay)
        {
            Fail($"{nameof(IdempotencyClientOptions.MaxRetryAfter)} must be between 0 and 1 day; it is {options.MaxRetryAfter}.");
        }

        if (options.DefaultRetryAfter < TimeSpan.Zero || options.DefaultRetryAfter > MaxDelay)
        {
            Fail($"{nameof(IdempotencyClientOptions.DefaultRetryAfter)} must be between 0 and 1 day; it is {options.DefaultRetryAfter}.");
        }

        if (string.IsNullOrWhiteSpace(options.ProblemTypeBaseUri))
        {
            Fail($"{nameof(IdempotencyClientOptions.ProblemTypeBaseUri)} must not be empty.");
        }

        if (options.SequenceStream is { } stream && !IsValidStream(stream))
        {
            Fail($"{nameof(IdempotencyClientOptions.SequenceStream)} must be 1 to {MaxStreamLength} visible ASCII characters.");
        }

        if (options.SequenceEpoch < 0)
        {
            Fail($"{nameof(IdempotencyClientOptions.SequenceEpoch)} must not be negative; it is {options.SequenceEpoch}.");
        }

        if (options.FirstSequenceNumber < 1)
        {
            Fail($"{nameof(IdempotencyClientOptions.FirstSequenceNumber)} must be at least 1; it is {options.FirstSequenceNumber}.");
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // The server's rule for Sequence-Stream (docs/contract.md §1): 1..128 visible ASCII characters.
    private static bool IsValidStream(string stream)
    {
        if (stream.Length is 0 or > MaxStreamLength)
        {
            return false;
        }

        foreach (var c in stream)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    private static void ValidateHeaderName(string? value, string optionName, Action<string> fail)
    {
        if (HeaderNameValidation.Problem(value, optionName) is { } problem)
        {
            fail(problem);
        }
    }
}
