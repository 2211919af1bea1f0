using System.Text;
using Idempotency.Fingerprinting;
using Microsoft.AspNetCore.Http;

namespace Idempotency.Tests.Fingerprinting;

public sealed class RequestFingerprinterTests
{
    private static DefaultHttpContext Request(string method = "POST", string path = "/p", string query = "", string? contentType = "application/json", string body = "{\"a\":1}")
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        context.Request.QueryString = new QueryString(query);
        context.Request.ContentType = contentType;
        var bytes = Encoding.UTF8.GetBytes(body);
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentLength = bytes.Length;
        return context;
    }

    private static async Task<byte[]> Fingerprint(DefaultHttpContext context, FingerprintComponents components = FingerprintComponents.All, bool canonical = false)
        => await RequestFingerprinter.ComputeAsync(context.Request, components, canonical, null, CancellationToken.None);

    [Fact]
    public async Task Same_request_gives_the_same_fingerprint_and_the_body_stays_readable()
    {
        var context = Request();
        var first = await Fingerprint(context);
        var body = await new StreamReader(context.Request.Body).ReadToEndAsync();

        Assert.Equal("{\"a\":1}", body);
        Assert.Equal(first, await Fingerprint(Request()));
        Assert.Equal(32, first.Length);
    }

    [Fact]
    public async Task Each_component_changes_the_fingerprint()
    {
        var baseline = await Fingerprint(Request());

        Assert.NotEqual(baseline, await Fingerprint(Request(method: "PUT")));
        Assert.NotEqual(baseline, await Fingerprint(Request(path: "/q")));
        Assert.NotEqual(baseline, await Fingerprint(Request(query: "?x=1")));
        Assert.NotEqual(baseline, await Fingerprint(Request(contentType: "text/plain")));
        Assert.NotEqual(baseline, await Fingerprint(Request(body: "{\"a\":2}")));
    }

    [Fact]
    public async Task Excluded_components_do_not_change_the_fingerprint()
    {
        var components = FingerprintComponents.Method | FingerprintComponents.Path;

        var baseline = await Fingerprint(Request(), components);

        Assert.Equal(baseline, await Fingerprint(Request(body: "other", query: "?x=1", contentType: "text/plain"), components));
        Assert.NotEqual(baseline, await Fingerprint(Request(path: "/other"), components));
    }

    [Fact]
    public async Task Bytes_moved_between_parts_change_the_fingerprint()
    {
        Assert.NotEqual(
            await Fingerprint(Request(path: "/ab", query: "?c")),
            await Fingerprint(Request(path: "/a", query: "?bc")));
    }

    [Fact]
    public async Task Large_body_is_streamed_and_still_readable_by_the_handler()
    {
        var large = new string('x', 3 * 1024 * 1024);
        var context = Request(body: large, contentType: "text/plain");

        var fingerprint = await Fingerprint(context);

        Assert.Equal(large.Length, (await new StreamReader(context.Request.Body).ReadToEndAsync()).Length);
        Assert.NotEqual(fingerprint, await Fingerprint(Request(body: large + "y", contentType: "text/plain")));
    }

    [Fact]
    public async Task Canonical_json_ignores_property_order_and_whitespace_at_every_level()
    {
        var a = await Fingerprint(Request(body: "{\"a\":1,\"b\":{\"c\":[1,{\"e\":1,\"d\":2}],\"s\":\"\\u0041\"}}"), canonical: true);
        var b = await Fingerprint(Request(body: " { \"b\" : { \"s\" : \"A\", \"c\" : [ 1 , { \"d\" : 2 , \"e\" : 1 } ] } , \"a\" : 1 } "), canonical: true);

        Assert.Equal(a, b);
    }

    [Fact]
    public async Task Canonical_json_keeps_array_order_values_and_number_text()
    {
        var baseline = await Fingerprint(Request(body: "{\"a\":[1,2]}"), canonical: true);

        Assert.NotEqual(baseline, await Fingerprint(Request(body: "{\"a\":[2,1]}"), canonical: true));
        Assert.NotEqual(baseline, await Fingerprint(Request(body: "{\"a\":[1,2.0]}"), canonical: true));
        Assert.NotEqual(baseline, await Fingerprint(Request(body: "{\"a\":[1,2],\"b\":null}"), canonical: true));
    }

    [Fact]
    public async Task Canonical_mode_hashes_invalid_json_as_bytes_and_leaves_the_body_readable()
    {
        var context = Request(body: "{not json");

        var fingerprint = await Fingerprint(context, canonical: true);

        Assert.Equal("{not json", await new StreamReader(context.Request.Body).ReadToEndAsync());
        Assert.Equal(fingerprint, await Fingerprint(Request(body: "{not json"), canonical: true));
        Assert.NotEqual(fingerprint, await Fingerprint(Request(body: "{not json!"), canonical: true));
    }

    [Fact]
    public async Task Canonical_mode_does_not_apply_to_non_json_content()
    {
        Assert.NotEqual(
            await Fingerprint(Request(contentType: "text/plain", body: "{\"a\":1,\"b\":2}"), canonical: true),
            await Fingerprint(Request(contentType: "text/plain", body: "{\"b\":2,\"a\":1}"), canonical: true));
    }

    [Theory]
    [InlineData("application/json", true)]
    [InlineData("application/json; charset=utf-8", true)]
    [InlineData("application/problem+json", true)]
    [InlineData("APPLICATION/JSON", true)]
    [InlineData("text/plain", false)]
    [InlineData("application/jsonx", false)]
    [InlineData(null, false)]
    public void Json_media_types_are_recognised(string? contentType, bool expected)
    {
        Assert.Equal(expected, RequestFingerprinter.IsJson(contentType));
    }
}
