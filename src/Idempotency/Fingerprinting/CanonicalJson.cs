using System.Security.Cryptography;
using System.Text.Json;
using Idempotency.Buffers;

namespace Idempotency.Fingerprinting;

/// <summary>
/// Hashes a JSON body in a canonical form so that two serializations of the same object share a fingerprint:
/// members sorted by name at every level, insignificant whitespace gone, strings compared by their unescaped value.
/// Numbers keep their original text: <c>1</c> and <c>1.0</c> stay different, because a handler may treat them
/// differently.
/// </summary>
/// <remarks>
/// Members are sorted by name ignoring case, and members whose names are equal ignoring case (duplicates included)
/// keep their order: a case-insensitive binder that lets the last duplicate win (System.Text.Json with the web
/// defaults) reads <c>{"amount":1,"Amount":2}</c> and <c>{"Amount":2,"amount":1}</c> differently, so they must not
/// share a fingerprint. The canonical form is hashed as it is produced, never written out.
/// </remarks>
internal static class CanonicalJson
{
    private const int InitialBufferSize = 16 * 1024;
    private const int ReadSize = 16 * 1024;

    // Tags of the canonical form. Strings, names and numbers carry their length and containers end with a tag no
    // value starts with, so the form of a document is never the prefix of another's.
    private const byte JsonTag = (byte)'J';
    private const byte ObjectTag = (byte)'{';
    private const byte ArrayTag = (byte)'[';
    private const byte EndTag = (byte)'.';
    private const byte NameTag = (byte)'k';
    private const byte StringTag = (byte)'s';
    private const byte NumberTag = (byte)'n';
    private const byte TrueTag = (byte)'t';
    private const byte FalseTag = (byte)'f';
    private const byte NullTag = (byte)'z';

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    /// <summary>
    /// Reads the body from its current position and, when it is valid JSON of at most <paramref name="maxBytes"/>
    /// bytes, appends its canonical form, without the members in <paramref name="exclusions"/>, to
    /// <paramref name="hash"/>. Returns <see langword="false"/> without touching the hash otherwise; the caller then
    /// hashes the body as bytes.
    /// </summary>
    /// <remarks>
    /// Whether a body is canonicalised depends only on its length, never on how its bytes arrive or on what
    /// <c>Content-Length</c> claims (used only to size the buffer), so the same body always gets the same fingerprint.
    /// </remarks>
    public static async ValueTask<bool> TryAppendBodyAsync(
        IncrementalHash hash, Stream body, int maxBytes, long? contentLength, JsonMemberExclusions? exclusions, CancellationToken cancellationToken)
    {
        using var raw = await ReadBoundedAsync(body, maxBytes, contentLength, cancellationToken).ConfigureAwait(false);
        return raw is not null && TryAppendCanonical(hash, raw.WrittenMemory, exclusions);
    }

    /// <summary>
    /// Reads the body from its current position to its end into a pooled buffer (dispose it), or returns
    /// <see langword="null"/> once it has proved longer than <paramref name="maxBytes"/>.
    /// </summary>
    /// <remarks>
    /// The buffer never grows past <paramref name="maxBytes"/>: a client cannot make the pool keep a huge array.
    /// </remarks>
    public static async ValueTask<PooledByteBufferWriter?> ReadBoundedAsync(Stream body, int maxBytes, long? contentLength, CancellationToken cancellationToken)
    {
        // Content-Length only sizes the first buffer, and never past InitialBufferSize: a client that announces a large
        // body and then trickles it in must not pin the whole bound of memory before it has sent the bytes.
        var initialSize = Math.Min(maxBytes, contentLength is { } length && length < InitialBufferSize ? (int)length : InitialBufferSize);
        var raw = new PooledByteBufferWriter(initialSize, maxBytes);
        try
        {
            while (raw.WrittenCount < maxBytes)
            {
                var room = maxBytes - raw.WrittenCount;
                var memory = raw.GetMemory(Math.Min(room, ReadSize));
                var read = await body.ReadAsync(memory[..Math.Min(memory.Length, room)], cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return raw;
                }

                raw.Advance(read);
            }

            var probe = new byte[1];
            if (await body.ReadAsync(probe, cancellationToken).ConfigureAwait(false) == 0)
            {
                return raw;
            }
        }
        catch
        {
            raw.Dispose();
            throw;
        }

        raw.Dispose();
        return null;
    }

    /// <summary>Parses a JSON body as the canonical form does (the same depth limit), after a leading UTF-8 byte order mark.</summary>
    /// <remarks>
    /// ASP.NET Core's <c>ReadFromJsonAsync</c> skips the mark, so a body with it is the same JSON to the handler: the
    /// key is found in it and it gets the same canonical fingerprint as the body without it.
    /// </remarks>
    /// <exception cref="JsonException">The body is not valid JSON.</exception>
    public static JsonDocument Parse(ReadOnlyMemory<byte> json)
        => JsonDocument.Parse(json.Span.StartsWith(Utf8ByteOrderMark) ? json[Utf8ByteOrderMark.Length..] : json, DocumentOptions);

    private static ReadOnlySpan<byte> Utf8ByteOrderMark => [0xEF, 0xBB, 0xBF];

    private static bool TryAppendCanonical(IncrementalHash hash, ReadOnlyMemory<byte> json, JsonMemberExclusions? exclusions)
    {
        JsonDocument document;
        try
        {
            document = Parse(json);
        }
        catch (JsonException)
        {
            return false;
        }

        using (document)
        {
            // Hashed apart and mixed in as a digest, so that a string found unreadable half-way leaves the request's
            // hash untouched for the byte fallback.
            var canonical = RequestFingerprinter.RentHash();
            var completed = false;
            Span<byte> digest = stackalloc byte[RequestFingerprinter.Size];
            try
            {
                Append(canonical, document.RootElement, [], exclusions);
                canonical.GetHashAndReset(digest);
                completed = true;
            }
            catch (InvalidOperationException)
            {
                // A string with an unpaired surrogate escape or invalid UTF-8 cannot be read as text.
                return false;
            }
            finally
            {
                RequestFingerprinter.ReturnHash(canonical, completed);
            }

            ReadOnlySpan<byte> tag = [JsonTag];
            hash.AppendData(tag);
            hash.AppendData(digest);
            return true;
        }
    }

    // One list for the whole document: each object sorts its members in a range at the end and removes them after.
    // An excluded member is left out as if the body did not have it; exclusions is the node of this element, if any
    // pointer goes below it.
    private static void Append(IncrementalHash hash, JsonElement element, List<Member> members, JsonMemberExclusions? exclusions)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var start = members.Count;
                var index = 0;
                foreach (var property in element.EnumerateObject())
                {
                    var excluded = exclusions?.Member(property.Name);
                    if (excluded is { Excluded: true })
                    {
                        continue;
                    }

                    members.Add(new Member(property.Name, index++, property.Value, excluded));
                }

                var end = members.Count;
                members.Sort(start, end - start, MemberOrder.Instance);
                AppendTag(hash, ObjectTag);
                for (var i = start; i < end; i++)
                {
                    var member = members[i];
                    RequestFingerprinter.AppendText(hash, NameTag, member.Name);
                    Append(hash, member.Value, members, member.Exclusions);
                }

                members.RemoveRange(start, end - start);
                AppendTag(hash, EndTag);
                break;
            case JsonValueKind.Array:
                AppendTag(hash, ArrayTag);
                var position = 0;
                foreach (var item in element.EnumerateArray())
                {
                    var excludedItem = exclusions?.Element(position++);
                    if (excludedItem is { Excluded: true })
                    {
                        continue;
                    }

                    Append(hash, item, members, excludedItem);
                }

                AppendTag(hash, EndTag);
                break;
            case JsonValueKind.String:
                RequestFingerprinter.AppendText(hash, StringTag, element.GetString());
                break;
            case JsonValueKind.Number:
                RequestFingerprinter.AppendText(hash, NumberTag, element.GetRawText());
                break;
            case JsonValueKind.True:
                AppendTag(hash, TrueTag);
                break;
            case JsonValueKind.False:
                AppendTag(hash, FalseTag);
                break;
            default:
                AppendTag(hash, NullTag);
                break;
        }
    }

    private static void AppendTag(IncrementalHash hash, byte tag)
    {
        ReadOnlySpan<byte> bytes = [tag];
        hash.AppendData(bytes);
    }

    private readonly record struct Member(string Name, int Index, JsonElement Value, JsonMemberExclusions? Exclusions);

    private sealed class MemberOrder : IComparer<Member>
    {
        public static readonly MemberOrder Instance = new();

        // Ignoring case groups the names a case-insensitive binder confuses; the index keeps each group in body order.
        public int Compare(Member x, Member y)
        {
            var byName = StringComparer.OrdinalIgnoreCase.Compare(x.Name, y.Name);
            return byName != 0 ? byName : x.Index.CompareTo(y.Index);
        }
    }
}
