namespace Idempotency;

/// <summary>
/// The header-name check both the server's and the client's options validators make. Compiled into each package
/// (linked source) because the client package deliberately does not depend on the server package.
/// </summary>
internal static class HeaderNameValidation
{
    /// <summary>Returns why <paramref name="value"/> cannot name a header, or <see langword="null"/> when it can.</summary>
    public static string? Problem(string? value, string optionName)
    {
        if (string.IsNullOrEmpty(value))
        {
            return $"{optionName} must not be empty.";
        }

        foreach (var c in value)
        {
            // RFC 9110 token characters.
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c)))
            {
                return $"{optionName} '{value}' is not a valid header name.";
            }
        }

        return null;
    }
}
