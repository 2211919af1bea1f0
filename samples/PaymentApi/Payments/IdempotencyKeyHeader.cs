using System.Text;

namespace PaymentApi.Payments;

/// <summary>
/// Reads the idempotency key the way the middleware understands it, so the ledger records the same key. The header
/// is a Structured Field sf-string (<c>"abc"</c>, RFC 9651), and bare tokens (<c>abc</c>) are accepted too: both
/// spellings are one key. Malformed keys never get here; the middleware answers them with 400.
/// </summary>
internal static class IdempotencyKeyHeader
{
    public static string? Read(HttpRequest request, string headerName)
    {
        var value = request.Headers[headerName].ToString().Trim();
        if (value.Length == 0)
        {
            return null;
        }

        return value is ['"', .., '"'] ? Unquote(value.AsSpan(1, value.Length - 2)) : value;
    }

    private static string Unquote(ReadOnlySpan<char> quoted)
    {
        if (!quoted.Contains('\\'))
        {
            return quoted.ToString();
        }

        // An sf-string escapes only '"' and '\': a backslash stands for the character after it.
        var key = new StringBuilder(quoted.Length);
        for (var i = 0; i < quoted.Length; i++)
        {
            if (quoted[i] == '\\' && i + 1 < quoted.Length)
            {
                i++;
            }

            key.Append(quoted[i]);
        }

        return key.ToString();
    }
}
