using System.Text;
using Idempotency.Fingerprinting;
using Microsoft.AspNetCore.Http;

namespace Idempotency.Tests.Fingerprinting;

/// <summary>How exclusion pointers meet a document in the canonical form.</summary>
public sealed class JsonMemberExclusionsTests
{
    private static async Task<byte[]> FingerprintAsync(string body, params string[] pointers)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Path = "/p";
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
        return await RequestFingerprinter.ComputeAsync(
            context.Request, FingerprintComponents.All, canonicalJson: true, 1024 * 1024, JsonMemberExclusions.Create(pointers), extra: null, CancellationToken.None);
    }

    [Fact]
    public async Task Escaped_tokens_name_members_holding_slash_and_tilde()
    {
        var original = await FingerprintAsync("{\"a/b\":1,\"c~d\":1,\"x\":1}", "/a~1b", "/c~0d");

        Assert.Equal(original, await FingerprintAsync("{\"a/b\":2,\"c~d\":2,\"x\":1}", "/a~1b", "/c~0d"));
        Assert.NotEqual(original, await FingerprintAsync("{\"a/b\":1,\"c~d\":1,\"x\":2}", "/a~1b", "/c~0d"));
    }

    [Fact]
    public async Task An_excluded_member_counts_as_absent_and_a_parent_pointer_does_not_exclude_its_siblings()
    {
        var without = await FingerprintAsync("{\"meta\":{\"id\":1}}", "/meta/timestamp");

        Assert.Equal(without, await FingerprintAsync("{\"meta\":{\"id\":1,\"timestamp\":5}}", "/meta/timestamp"));
        Assert.NotEqual(without, await FingerprintAsync("{\"meta\":{\"id\":2,\"timestamp\":5}}", "/meta/timestamp"));
    }

    [Fact]
    public async Task A_pointer_that_meets_a_value_of_another_kind_excludes_nothing()
    {
        var original = await FingerprintAsync("{\"meta\":\"timestamp\"}", "/meta/timestamp");

        Assert.NotEqual(original, await FingerprintAsync("{\"meta\":\"other\"}", "/meta/timestamp"));
    }

    [Fact]
    public void No_pointers_make_no_tree()
        => Assert.Null(JsonMemberExclusions.Create([]));
}
