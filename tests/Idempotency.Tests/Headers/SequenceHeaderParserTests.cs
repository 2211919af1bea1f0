using Idempotency.Headers;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Tests.Headers;

public sealed class SequenceHeaderParserTests
{
    [Theory]
    [InlineData("1", 1)]
    [InlineData(" 42 ", 42)]
    [InlineData("007", 7)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void Valid_numbers_parse(string header, long expected)
    {
        Assert.Equal(KeyParseStatus.Valid, SequenceHeaderParser.ParseNumber(header, 1, out var number));
        Assert.Equal(expected, number);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("1 2")]
    [InlineData("1.0")]
    [InlineData("1e3")]
    [InlineData("abc")]
    [InlineData("")]
    [InlineData("9223372036854775808")]
    [InlineData("18446744073709551616")]
    [InlineData("99999999999999999999")]
    [InlineData("１")]
    public void Malformed_or_out_of_range_numbers_are_invalid(string header)
    {
        Assert.Equal(KeyParseStatus.Invalid, SequenceHeaderParser.ParseNumber(header, 1, out _));
    }

    [Fact]
    public void Epoch_may_be_zero_but_a_sequence_number_may_not()
    {
        Assert.Equal(KeyParseStatus.Valid, SequenceHeaderParser.ParseNumber("0", 0, out var epoch));
        Assert.Equal(0, epoch);
        Assert.Equal(KeyParseStatus.Invalid, SequenceHeaderParser.ParseNumber("0", 1, out _));
    }

    [Fact]
    public void Missing_and_repeated_headers_are_told_apart()
    {
        Assert.Equal(KeyParseStatus.Missing, SequenceHeaderParser.ParseNumber(StringValues.Empty, 1, out _));
        Assert.Equal(KeyParseStatus.Invalid, SequenceHeaderParser.ParseNumber(new StringValues(["1", "2"]), 1, out _));
    }

    [Theory]
    [InlineData("orders", true)]
    [InlineData("a:b/c-1", true)]
    [InlineData("", false)]
    [InlineData("has space", false)]
    [InlineData("é", false)]
    public void Stream_names_are_visible_ascii(string stream, bool valid)
    {
        Assert.Equal(valid, SequenceHeaderParser.IsValidStream(stream));
        Assert.True(SequenceHeaderParser.IsValidStream(new string('s', 128)));
        Assert.False(SequenceHeaderParser.IsValidStream(new string('s', 129)));
    }
}
