using Microsoft.AspNetCore.Http;
using PaymentApi.Payments;

namespace PaymentApi.Tests;

public sealed class IdempotencyKeyHeaderTests
{
    [Theory]
    [InlineData("abc", "abc")]
    [InlineData("\"abc\"", "abc")]
    [InlineData("  \"abc\"  ", "abc")]
    [InlineData("\"a\\\"b\"", "a\"b")]
    [InlineData("\"a\\\\b\"", "a\\b")]
    [InlineData("\"\"", "")]
    [InlineData("\"", "\"")]
    public void Sf_strings_are_unquoted_and_tokens_kept(string header, string expected)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers["Idempotency-Key"] = header;

        Assert.Equal(expected, IdempotencyKeyHeader.Read(context.Request, "Idempotency-Key"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void No_key_is_null(string? header)
    {
        var context = new DefaultHttpContext();
        if (header is not null)
        {
            context.Request.Headers["Idempotency-Key"] = header;
        }

        Assert.Null(IdempotencyKeyHeader.Read(context.Request, "Idempotency-Key"));
    }
}
