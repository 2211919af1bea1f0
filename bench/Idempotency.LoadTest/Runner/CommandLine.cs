namespace Idempotency.LoadTest.Runner;

/// <summary><c>--name value</c> pairs; a flag without a value reads as <c>true</c>.</summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, string> _values = new(StringComparer.OrdinalIgnoreCase);

    public static CommandLine Parse(string[] args)
    {
        var result = new CommandLine();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Unexpected argument '{args[i]}'; options look like --name value.");
            }

            var name = args[i][2..];
            if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                result._values[name] = args[++i];
            }
            else
            {
                result._values[name] = "true";
            }
        }

        return result;
    }

    public string? Get(string name) => _values.TryGetValue(name, out var value) ? value : null;

    public IEnumerable<string> Names => _values.Keys;
}
