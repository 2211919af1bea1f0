namespace Idempotency.Chaos.Scenarios;

/// <summary>
/// The key syntax of docs/contract-notes.md ("Keys"), written again from the text, independently of the library's
/// parser: the fuzzer's oracle for which raw header values are keys and which key each one names.
/// </summary>
internal static class KeyGrammar
{
    public const int MaxLength = 255;

    /// <returns>The key a raw header value names, or null when the contract refuses it.</returns>
    public static string? Canonical(byte[] raw)
    {
        foreach (var b in raw)
        {
            // Outside visible ASCII, space and tab nothing is allowed anywhere (HTTP itself refuses most of it).
            if (b >= 0x7F || (b < 0x20 && b != 0x09))
            {
                return null;
            }
        }

        var value = System.Text.Encoding.ASCII.GetString(raw).Trim(' ', '\t');
        if (value.Length == 0)
        {
            return null;
        }

        return value[0] == '"' ? Quoted(value) : Bare(value);
    }

    private static string? Quoted(string value)
    {
        if (value.Length < 2 || value[^1] != '"')
        {
            return null;
        }

        var key = new System.Text.StringBuilder();
        for (var i = 1; i < value.Length - 1; i++)
        {
            var c = value[i];
            if (c is < ' ' or > '~' or '"')
            {
                return null;
            }

            if (c == '\\')
            {
                if (i + 1 >= value.Length - 1 || value[i + 1] is not ('"' or '\\'))
                {
                    return null;
                }

                c = value[++i];
            }

            key.Append(c);
        }

        var text = key.ToString();
        return text.Length is 0 or > MaxLength || text.Trim(' ').Length == 0 ? null : text;
    }

    private static string? Bare(string value)
    {
        if (value.Length > MaxLength)
        {
            return null;
        }

        foreach (var c in value)
        {
            if (c is < '!' or > '~' or '"' or '\\' or ',')
            {
                return null;
            }
        }

        return value;
    }
}
