using Idempotency.Headers;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Tests.Headers;

public sealed class IdempotencyKeyParserTests
{
    [Theory]
    [InlineData("abc", "abc")]
    [InlineData("8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324")]
    [InlineData("\"8e03978e-40d5\"", "8e03978e-40d5")]
    [InlineData("  padded\t", "padded")]
    [InlineData("\"with space\"", "with space")]
    [InlineData("\"esc\\\"aped\\\\\"", "esc\"aped\\")]
    [InlineData("a:b/c*d!#$%&'+-.^_`|~;=", "a:b/c*d!#$%&'+-.^_`|~;=")]
    public void Valid_keys_parse_to_their_unquoted_value(string header, string expected)
    {
        Assert.Equal(KeyParseStatus.Valid, IdempotencyKeyParser.Parse(header, 255, out var key));
        Assert.Equal(expected, key);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\"\"")]
    [InlineData("\"")]
    [InlineData("\"open")]
    [InlineData("close\"")]
    [InlineData("\"a\"b\"")]
    [InlineData("\"bad\\x\"")]
    [InlineData("\"trailing\\\"")]
    [InlineData("two words")]
    [InlineData("a,b")]
    [InlineData("back\\slash")]
    [InlineData("tab\tinside")]
    [InlineData("\"ctrl\u0001\"")]
    [InlineData("non-ascii-é")]
    [InlineData("\"non-ascii-é\"")]
    public void Malformed_keys_are_invalid(string header)
    {
        Assert.Equal(KeyParseStatus.Invalid, IdempotencyKeyParser.Parse(header, 255, out var key));
        Assert.Null(key);
    }

    [Fact]
    public void Missing_header_is_missing()
    {
        Assert.Equal(KeyParseStatus.Missing, IdempotencyKeyParser.Parse(StringValues.Empty, 255, out _));
    }

    [Fact]
    public void Several_header_values_are_invalid()
    {
        Assert.Equal(KeyParseStatus.Invalid, IdempotencyKeyParser.Parse(new StringValues(["a", "b"]), 255, out _));
    }

    [Fact]
    public void Length_limit_counts_characters_after_unquoting()
    {
        Assert.Equal(KeyParseStatus.Valid, IdempotencyKeyParser.Parse("\"" + new string('a', 4) + "\"", 4, out _));
        Assert.Equal(KeyParseStatus.Valid, IdempotencyKeyParser.Parse("\"ab\\\\c\"", 4, out _));
        Assert.Equal(KeyParseStatus.Invalid, IdempotencyKeyParser.Parse(new string('a', 5), 4, out _));
        Assert.Equal(KeyParseStatus.Invalid, IdempotencyKeyParser.Parse("\"" + new string('a', 5) + "\"", 4, out _));
    }
}
