using System.Globalization;

namespace Idempotency.Fingerprinting;

/// <summary>
/// The JSON members a policy leaves out of the canonical form, as a tree of pointer tokens, so canonicalisation
/// follows the tree alongside the document and never compares pointers.
/// </summary>
internal sealed class JsonMemberExclusions
{
    private Dictionary<string, JsonMemberExclusions>? _children;

    private JsonMemberExclusions()
    {
    }

    /// <summary>Whether the member this node names is left out.</summary>
    public bool Excluded { get; private set; }

    /// <summary>The tree of <paramref name="pointers"/>, or <see langword="null"/> when there are none. The pointers are valid (checked at start-up).</summary>
    public static JsonMemberExclusions? Create(IEnumerable<string> pointers)
    {
        JsonMemberExclusions? root = null;
        foreach (var pointer in pointers)
        {
            if (!JsonPointer.TryParse(pointer, out var tokens))
            {
                throw new ArgumentException($"'{pointer}' is not a JSON Pointer to a member.", nameof(pointers));
            }

            var node = root ??= new JsonMemberExclusions();
            foreach (var token in tokens)
            {
                node._children ??= new Dictionary<string, JsonMemberExclusions>(StringComparer.Ordinal);
                if (!node._children.TryGetValue(token, out var child))
                {
                    node._children.Add(token, child = new JsonMemberExclusions());
                }

                node = child;
            }

            node.Excluded = true;
        }

        return root;
    }

    /// <summary>The node of the member named <paramref name="name"/> below this one, if any pointer goes there.</summary>
    public JsonMemberExclusions? Member(string name)
        => _children is not null && _children.TryGetValue(name, out var child) ? child : null;

    /// <summary>The node of the array element at <paramref name="index"/> below this one, if any pointer goes there.</summary>
    public JsonMemberExclusions? Element(int index)
        => _children is null ? null : Member(index.ToString(CultureInfo.InvariantCulture));
}
