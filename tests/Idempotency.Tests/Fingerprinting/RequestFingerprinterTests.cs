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

    private static readonly int DefaultCanonicalLimit = new IdempotencyPolicy().MaxCanonicalJsonBytes;

    private static async Task<byte[]> Fingerprint(
        DefaultHttpContext context, FingerprintComponents components = FingerprintComponents.All, bool canonical = false, int? canonicalLimit = null)
        => await RequestFingerprinter.ComputeAsync(context.Request, components, canonical, canonicalLimit ?? DefaultCanonicalLimit, exclusions: null, extra: null, CancellationToken.None);

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

    // Fingerprints are stored with records and compared by later versions of the library (and by other instances
    // during a rolling upgrade): the bytes hashed are a format, written out here independently of the fingerprinter.
    [Theory]
    [InlineData("POST", "/orders", "?item=1", "application/json", "{\"a\":1}", null)]
    [InlineData("PUT", "/été/😀", "", null, "", "the-key")]
    [InlineData("POST", "/orders", "", "application/json", null, null)]
    public async Task The_fingerprint_is_sha256_over_the_tagged_length_prefixed_parts(string method, string path, string query, string? contentType, string? body, string? extra)
    {
        // null: a body larger than a read buffer, longer than the hash's batching, arriving in uneven reads.
        body ??= string.Concat(Enumerable.Range(0, 40_000).Select(i => (char)('a' + (i % 26))));
        var context = Request(method, path, query, contentType, body);
        context.Request.Body = new ChunkedReadStream(Encoding.UTF8.GetBytes(body), chunk: 1_531);
        if (body.Length == 0)
        {
            context.Request.ContentLength = 0;
        }

        var actual = await RequestFingerprinter.ComputeAsync(
            context.Request, FingerprintComponents.All, canonicalJson: false, DefaultCanonicalLimit, exclusions: null, extra, CancellationToken.None);

        using var expected = new MemoryStream();
        void Text(char tag, string? value)
        {
            var bytes = Encoding.UTF8.GetBytes(value ?? string.Empty);
            expected.WriteByte((byte)tag);
            expected.Write(BitConverter.GetBytes(bytes.Length));
            expected.Write(bytes);
        }

        Text('M', method);
        Text('P', path);
        Text('Q', query);
        Text('C', contentType);
        if (extra is not null)
        {
            Text('X', extra);
        }

        if (body.Length > 0)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            expected.WriteByte((byte)'B');
            expected.Write(bytes);
            expected.Write(BitConverter.GetBytes((long)bytes.Length));
        }

        Assert.Equal(System.Security.Cryptography.SHA256.HashData(expected.ToArray()), actual);
    }

    private sealed class ChunkedReadStream(byte[] bytes, int chunk) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, chunk)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            => base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => base.ReadAsync(buffer, offset, Math.Min(count, chunk), cancellationToken);
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
        await Fingerprint(Request(body: "warm-up", contentType: "text/plain"));

        // Streamed means hashed through a small (pooled) buffer: the 3 MiB body is never copied into memory whole.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var fingerprint = await Fingerprint(context);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated < 64 * 1024, $"Fingerprinting a {large.Length}-byte body allocated {allocated} bytes.");
        Assert.Equal(0, context.Request.Body.Position);
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

    [Fact]
    public async Task Canonical_json_keeps_names_that_differ_only_by_case_in_their_order()
    {
        // A case-insensitive binder takes the last of "amount" and "Amount": 5000 for the first body, 100 for the second.
        var first = await Fingerprint(Request(body: "{\"amount\":100,\"currency\":\"EUR\",\"Amount\":5000}"), canonical: true);
        var second = await Fingerprint(Request(body: "{\"Amount\":5000,\"currency\":\"EUR\",\"amount\":100}"), canonical: true);

        Assert.NotEqual(first, second);
        Assert.Equal(first, await Fingerprint(Request(body: "{\"currency\":\"EUR\",\"amount\":100,\"Amount\":5000}"), canonical: true));
    }

    [Fact]
    public async Task Canonical_json_keeps_duplicate_names_in_their_order()
    {
        Assert.NotEqual(
            await Fingerprint(Request(body: "{\"a\":1,\"b\":0,\"a\":2}"), canonical: true),
            await Fingerprint(Request(body: "{\"a\":2,\"b\":0,\"a\":1}"), canonical: true));
        Assert.Equal(
            await Fingerprint(Request(body: "{\"a\":1,\"b\":0,\"a\":2}"), canonical: true),
            await Fingerprint(Request(body: "{\"b\":0,\"a\":1,\"a\":2}"), canonical: true));
    }

    [Fact]
    public async Task Canonical_json_longer_than_the_bound_is_fingerprinted_as_bytes()
    {
        const int limit = 64;
        var longer = "{\"a\":1,\"b\":\"" + new string('x', limit) + "\"}";
        var reordered = "{\"b\":\"" + new string('x', limit) + "\",\"a\":1}";

        var canonical = await Fingerprint(Request(body: longer), canonical: true, canonicalLimit: limit);

        Assert.Equal(await Fingerprint(Request(body: longer)), canonical);
        Assert.NotEqual(canonical, await Fingerprint(Request(body: reordered), canonical: true, canonicalLimit: limit));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(int.MaxValue)]
    public async Task Canonical_json_form_depends_on_the_body_length_not_on_how_the_body_arrives(int chunkSize)
    {
        const string body = "{\"b\":2,\"a\":1}";
        const string reordered = "{\"a\":1,\"b\":2}";

        // A body exactly at the bound is canonical; one byte over, it is bytes, however it is read.
        var atBound = Request(body: body);
        atBound.Request.Body = new ChunkedStream(Encoding.UTF8.GetBytes(body), chunkSize);
        var overBound = Request(body: body);
        overBound.Request.Body = new ChunkedStream(Encoding.UTF8.GetBytes(body), chunkSize);

        Assert.Equal(
            await Fingerprint(Request(body: reordered), canonical: true, canonicalLimit: body.Length),
            await Fingerprint(atBound, canonical: true, canonicalLimit: body.Length));
        Assert.Equal(
            await Fingerprint(Request(body: body)),
            await Fingerprint(overBound, canonical: true, canonicalLimit: body.Length - 1));
        Assert.Equal(body, await new StreamReader(overBound.Request.Body).ReadToEndAsync());
    }

    [Fact]
    public async Task Canonical_json_far_above_the_bound_is_hashed_without_holding_it_in_memory()
    {
        // 30 MB of small objects: parsing and re-writing it canonically would allocate far more than the body.
        var builder = new StringBuilder("[");
        while (builder.Length < 30_000_000)
        {
            builder.Append("{\"name\":\"item\",\"value\":12345},");
        }

        builder.Append("{}]");
        var body = Encoding.UTF8.GetBytes(builder.ToString());
        var context = Request(body: "");
        context.Request.Body = new MemoryStream(body);
        context.Request.ContentLength = body.Length;
        await Fingerprint(Request(), canonical: true);

        var before = GC.GetAllocatedBytesForCurrentThread();
        await Fingerprint(context, canonical: true);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated < 4 * 1024 * 1024, $"Fingerprinting a {body.Length}-byte JSON body allocated {allocated} bytes.");
        Assert.Equal(0, context.Request.Body.Position);
    }

    [Fact]
    public async Task Body_left_at_its_end_by_an_earlier_reader_is_hashed_whole_and_left_rewound()
    {
        var read = Request(body: "{\"a\":1}");
        await new StreamReader(read.Request.Body).ReadToEndAsync();
        var readCanonical = Request(body: "{\"a\":1}");
        await new StreamReader(readCanonical.Request.Body).ReadToEndAsync();

        Assert.Equal(await Fingerprint(Request(body: "{\"a\":1}")), await Fingerprint(read));
        Assert.Equal(await Fingerprint(Request(body: "{\"a\":1}"), canonical: true), await Fingerprint(readCanonical, canonical: true));
        Assert.Equal(0, read.Request.Body.Position);
        Assert.Equal(0, readCanonical.Request.Body.Position);
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

    /// <summary>A seekable body that hands out at most <c>chunkSize</c> bytes per read, as a network stream may.</summary>
    private sealed class ChunkedStream(byte[] buffer, int chunkSize) : MemoryStream(buffer)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunkSize));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, chunkSize)]);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => base.ReadAsync(buffer, offset, Math.Min(count, chunkSize), cancellationToken);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            => base.ReadAsync(buffer[..Math.Min(buffer.Length, chunkSize)], cancellationToken);
    }
}
