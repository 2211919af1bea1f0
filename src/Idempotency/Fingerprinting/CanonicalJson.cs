using System.Security.Cryptography;
using System.Text.Json;
using Idempotency.Buffers;

namespace Idempotency.Fingerprinting;

/// <summary>
/// Hashes a JSON body in a canonical form (properties sorted by ordinal name at every level, no insignificant
/// whitespace, strings re-escaped uniformly) so that two serializations of the same object share a fingerprint.
/// Numbers keep their original text: <c>1</c> and <c>1.0</c> stay different, because a handler may treat them
/// differently. A body that is not valid JSON is hashed as raw bytes; the handler will reject it anyway.
/// </summary>
internal static class CanonicalJson
{
    private const int InitialBufferSize = 16 * 1024;
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    public static async ValueTask AppendBodyAsync(IncrementalHash hash, Stream body, CancellationToken cancellationToken)
    {
        // The canonical form needs the whole document, so this opt-in mode reads the body into a pooled buffer.
        using var raw = new PooledByteBufferWriter(InitialBufferSize);
        while (true)
        {
            var read = await body.ReadAsync(raw.GetMemory(4096), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            raw.Advance(read);
        }

        using var canonical = new PooledByteBufferWriter(raw.WrittenCount);
        if (TryWriteCanonical(raw.WrittenMemory, canonical))
        {
            // Tag 'J' keeps a canonical body apart from a raw body with the same bytes.
            hash.AppendData([(byte)'J']);
            hash.AppendData(canonical.WrittenSpan);
            RequestFingerprinter.AppendLength(hash, canonical.WrittenCount);
        }
        else
        {
            hash.AppendData([(byte)'B']);
            hash.AppendData(raw.WrittenSpan);
            RequestFingerprinter.AppendLength(hash, raw.WrittenCount);
        }
    }

    internal static bool TryWriteCanonical(ReadOnlyMemory<byte> json, PooledByteBufferWriter output)
    {
        try
        {
            using var document = JsonDocument.Parse(json, DocumentOptions);
            using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false, SkipValidation = true });
            Write(writer, document.RootElement);
            writer.Flush();
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            // A string with an unpaired surrogate escape cannot be read back as text.
            return false;
        }
    }

    private static void Write(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var properties = new List<(string Name, int Index, JsonElement Value)>();
                var index = 0;
                foreach (var property in element.EnumerateObject())
                {
                    properties.Add((property.Name, index++, property.Value));
                }

                properties.Sort(static (a, b) =>
                {
                    var byName = string.CompareOrdinal(a.Name, b.Name);
                    return byName != 0 ? byName : a.Index.CompareTo(b.Index);
                });

                writer.WriteStartObject();
                foreach (var (name, _, value) in properties)
                {
                    writer.WritePropertyName(name);
                    Write(writer, value);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(element.GetString());
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }
}
