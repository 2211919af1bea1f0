using Microsoft.Extensions.Primitives;

namespace Idempotency.Headers;

/// <summary>Reads the sequence headers of docs/contract.md §1: <c>Sequence-Number</c>, <c>Sequence-Epoch</c> and <c>Sequence-Stream</c>.</summary>
internal static class SequenceHeaderParser
{
    public const int MaxStreamLength = 128;

    /// <summary>A decimal integer of <paramref name="minimum"/> to 2^63-1: digits only, no sign, no inner whitespace.</summary>
    public static KeyParseStatus ParseNumber(StringValues values, long minimum, out long number)
    {
        number = 0;
        if (values.Count == 0)
        {
            return KeyParseStatus.Missing;
        }

        if (values.Count > 1 || values[0] is not { } raw)
        {
            return KeyParseStatus.Invalid;
        }

        var span = raw.AsSpan().Trim(" \t");
        if (span.IsEmpty || span.Length > 19)
        {
            return KeyParseStatus.Invalid;
        }

        ulong value = 0;
        foreach (var c in span)
        {
            if (!char.IsAsciiDigit(c))
            {
                return KeyParseStatus.Invalid;
            }

            value = (value * 10) + (ulong)(c - '0');
        }

        // Nineteen digits fit in a ulong, so the only overflow left to catch is past long.MaxValue.
        if (value > long.MaxValue || (long)value < minimum)
        {
            return KeyParseStatus.Invalid;
        }

        number = (long)value;
        return KeyParseStatus.Valid;
    }

    /// <summary>A stream name: 1 to 128 visible ASCII characters.</summary>
    public static KeyParseStatus ParseStream(StringValues values, out string? stream)
    {
        stream = null;
        if (values.Count == 0)
        {
            return KeyParseStatus.Missing;
        }

        if (values.Count > 1 || values[0] is not { } raw)
        {
            return KeyParseStatus.Invalid;
        }

        var span = raw.AsSpan().Trim(" \t");
        if (!IsValidStream(span))
        {
            return KeyParseStatus.Invalid;
        }

        stream = span.Length == raw.Length ? raw : span.ToString();
        return KeyParseStatus.Valid;
    }

    /// <summary>The longest stream name an application's <see cref="IdempotencyPolicy.SequenceStreamResolver"/> may return.</summary>
    public const int MaxResolvedStreamLength = 1024;

    /// <summary>
    /// A stream name from the application's resolver: any text of 1 to <see cref="MaxResolvedStreamLength"/> characters.
    /// Unlike a header it need not be ASCII (a route value may not be); it only ever reaches the store hashed.
    /// </summary>
    public static bool IsValidResolvedStream(string stream) => stream.Length is > 0 and <= MaxResolvedStreamLength;

    public static bool IsValidStream(ReadOnlySpan<char> stream)
    {
        if (stream.IsEmpty || stream.Length > MaxStreamLength)
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
}
