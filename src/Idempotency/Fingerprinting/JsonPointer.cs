namespace Idempotency.Fingerprinting;

/// <summary>JSON Pointers (RFC 6901) as the options take them: <c>/member/0/child</c>, with <c>~0</c> for <c>~</c> and <c>~1</c> for <c>/</c>.</summary>
internal static class JsonPointer
{
    /// <summary>
    /// Splits <paramref name="pointer"/> into its unescaped reference tokens. The empty pointer (the whole document)
    /// is refused: nothing the options take a pointer for means the whole body.
    /// </summary>
    public static bool TryParse(string? pointer, out string[] tokens)
    {
        tokens = [];
        if (string.IsNullOrEmpty(pointer) || pointer[0] != '/')
        {
            return false;
        }

        var parts = pointer[1..].Split('/');
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            for (var j = part.IndexOf('~'); j >= 0; j = part.IndexOf('~', j + 1))
            {
                if (j + 1 >= part.Length || part[j + 1] is not ('0' or '1'))
                {
                    return false;
                }
            }

            // ~1 first, then ~0: "~01" is the token "~1", not "/".
            parts[i] = part.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
        }

        tokens = parts;
        return true;
    }

    /// <summary>Whether <paramref name="token"/> is an array index as RFC 6901 writes one (digits, no leading zero) and, if so, which.</summary>
    public static bool TryGetIndex(string token, out int index)
    {
        index = 0;
        if (token.Length == 0 || token.Length > 9 || (token.Length > 1 && token[0] == '0'))
        {
            return false;
        }

        foreach (var c in token)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            index = (index * 10) + (c - '0');
        }

        return true;
    }
}
