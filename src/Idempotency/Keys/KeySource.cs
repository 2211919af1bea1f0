using System.Globalization;
using Idempotency.Headers;
using Idempotency.Problems;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Keys;

/// <summary>
/// Where one policy takes its idempotency key from: a header (its own or the options' one), or a resolver. A header's
/// value is parsed as a header (a token or a quoted string); a resolved key is taken as it is, checked only for length
/// and characters, and names an operation within its endpoint and method (<see cref="KeySpace"/>). Problem details
/// name where the key was expected.
/// </summary>
internal sealed class KeySource
{
    private readonly string _policyName;
    private readonly Func<KeyResolverArguments, ValueTask<string?>>? _resolver;
    private readonly int _maxKeyLength;
    private readonly int _maxBodyBytes;
    private readonly KeyRead _missing;
    private readonly KeyRead _invalid;

    public KeySource(string policyName, IdempotencyPolicy policy, IdempotencyOptions options)
    {
        _policyName = policyName;
        _maxKeyLength = options.MaxKeyLength;
        _maxBodyBytes = policy.MaxCanonicalJsonBytes;
        _resolver = policy.KeyResolver;

        // Reading another header through its resolver is reading a header: its problems name it as the key header's do.
        if (_resolver is null || _resolver.Target is HeaderKeyResolver)
        {
            HeaderName = (_resolver?.Target as HeaderKeyResolver)?.Name ?? policy.KeyHeaderName ?? options.KeyHeaderName;
            _resolver = null;
            _missing = new KeyRead(
                KeyParseStatus.Missing, IdempotencyProblem.KeyMissing,
                string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.KeyMissing.Detail, HeaderName));
            _invalid = new KeyRead(
                KeyParseStatus.Invalid, IdempotencyProblem.KeyInvalid,
                string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.KeyInvalid.Detail, HeaderName, _maxKeyLength));
            return;
        }

        var source = (_resolver.Target as IKeySourceDescription)?.Description ?? "the request";
        _missing = new KeyRead(
            KeyParseStatus.Missing, IdempotencyProblem.KeyMissing,
            string.Format(CultureInfo.InvariantCulture, ResolvedKeyMissingDetail, source));
        _invalid = new KeyRead(
            KeyParseStatus.Invalid, IdempotencyProblem.KeyInvalid,
            string.Format(CultureInfo.InvariantCulture, ResolvedKeyInvalidDetail, source, _maxKeyLength));
    }

    /// <summary>The header the key is read from, or <see langword="null"/> when a resolver finds it elsewhere.</summary>
    public string? HeaderName { get; }

    /// <summary>
    /// Whether reading the key reads the request body: the built-in JSON member resolver does. A route value never does,
    /// and an application's own resolver that reads the body buffers it itself (see <see cref="KeyResolverArguments.MaxBodyBytes"/>).
    /// </summary>
    public bool ReadsBody => _resolver?.Target is JsonMemberKeyResolver;

    private const string ResolvedKeyMissingDetail =
        "This endpoint requires an idempotency key, which it takes from {0}; send one there and reuse it when retrying.";

    private const string ResolvedKeyInvalidDetail =
        "The idempotency key this endpoint takes from {0} must be 1 to {1} characters, none of them white space or a control character.";

    /// <summary>Reads the request's key; completes synchronously unless a resolver does not.</summary>
    public ValueTask<KeyRead> ReadAsync(HttpContext context)
        => _resolver is null
            ? new ValueTask<KeyRead>(CheckHeader(context.Request.Headers[HeaderName!]))
            : ResolveAsync(context);

    /// <exception cref="BadHttpRequestException">The server (or the resolver) refused to read the body: the caller answers it as it answers the fingerprint's.</exception>
    private async ValueTask<KeyRead> ResolveAsync(HttpContext context)
    {
        var resolved = await _resolver!(new KeyResolverArguments(context, _policyName, _maxBodyBytes)).ConfigureAwait(false);

        if (string.IsNullOrEmpty(resolved))
        {
            return _missing;
        }

        // Taken as it is, never unquoted: a route value '"abc"' and 'abc' name two resources, so they are two keys.
        return resolved.Length <= _maxKeyLength && IsResolvedKeyText(resolved)
            ? new KeyRead(resolved, KeySpace.Of(context))
            : _invalid;
    }

    /// <summary>
    /// No white space or control characters (a key is an identifier, and it reaches logs and the request feature), and
    /// no half of a surrogate pair, which would hash as U+FFFD and so as the same key as another.
    /// </summary>
    private static bool IsResolvedKeyText(string key)
    {
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (char.IsHighSurrogate(c))
            {
                if (++i == key.Length || !char.IsLowSurrogate(key[i]))
                {
                    return false;
                }
            }
            else if (char.IsLowSurrogate(c) || char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return false;
            }
        }

        return true;
    }

    private KeyRead CheckHeader(StringValues value)
        => IdempotencyKeyParser.Parse(value, _maxKeyLength, out var key) switch
        {
            KeyParseStatus.Valid => new KeyRead(key!),
            KeyParseStatus.Missing => _missing,
            _ => _invalid,
        };
}
