using Microsoft.Extensions.Primitives;

namespace Idempotency.Headers;

/// <summary>
/// Reads the <c>Idempotency-Key</c> header: an RFC 8941 sf-string (<c>"abc"</c>) as the IETF draft specifies, or the
/// bare token most clients send (UUIDs start with a digit, which a strict sf-token would reject).
/// </summary>
internal static class IdempotencyKeyParser
{
    public static KeyParseStatus Parse(StringValues values, int maxLength, out string? key)
    {
        key = null;
        if (values.Count == 0)
        {
            return KeyParseStatus.Missing;
        }

        // Two header lines (or a comma-joined list) mean two keys for one request: ambiguous, so refused.
        if (values.Count > 1)
        {
            return KeyParseStatus.Invalid;
        }

        var raw = values[0];
        if (raw is null)
        {
            return KeyParseStatus.Invalid;
        }

        var span = raw.AsSpan().Trim(" \t");
        if (span.IsEmpty)
        {
            return KeyParseStatus.Invalid;
        }

        if (span[0] == '"')
        {
            return ParseString(span, maxLength, out key);
        }

        if (span.Length > maxLength)
        {
            return KeyParseStatus.Invalid;
        }

        foreach (var c in span)
        {
            if (c is < '!' or > '~' or '"' or '\\' or ',')
            {
                return KeyParseStatus.Invalid;
            }
        }

        key = span.Length == raw.Length ? raw : span.ToString();
        return KeyParseStatus.Valid;
    }

    private static KeyParseStatus ParseString(ReadOnlySpan<char> span, int maxLength, out string? key)
    {
        key = null;
        if (span.Length < 2 || span[^1] != '"')
        {
            return KeyParseStatus.Invalid;
        }

        var inner = span[1..^1];
        var escapes = 0;
        for (var i = 0; i < inner.Length; i++)
        {
            var c = inner[i];
            if (c is < ' ' or > '~')
            {
                return KeyParseStatus.Invalid;
            }

            if (c == '"')
            {
                return KeyParseStatus.Invalid;
            }

            if (c == '\\')
            {
                // RFC 8941 §3.3.3: only \" and \\ are escapes; anything else is a parse failure.
                if (i + 1 >= inner.Length || inner[i + 1] is not ('"' or '\\'))
                {
                    return KeyParseStatus.Invalid;
                }

                escapes++;
                i++;
            }
        }

        var length = inner.Length - escapes;
        if (length == 0 || length > maxLength || inner.IndexOfAnyExcept(' ') < 0)
        {
            return KeyParseStatus.Invalid;
        }

        if (escapes == 0)
        {
            key = inner.ToString();
            return KeyParseStatus.Valid;
        }

        key = string.Create(length, inner.ToString(), static (destination, source) =>
        {
            var written = 0;
            for (var i = 0; i < source.Length; i++)
            {
                var c = source[i];
                if (c == '\\')
                {
                    c = source[++i];
                }

                destination[written++] = c;
            }
        });
        return KeyParseStatus.Valid;
    }
}
