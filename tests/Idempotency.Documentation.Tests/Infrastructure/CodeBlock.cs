using System.Text.RegularExpressions;

namespace Idempotency.Documentation.Tests.Infrastructure;

/// <summary>One fenced <c>```csharp</c> block of a Markdown page.</summary>
/// <param name="Page">The page, as a path from the repository root.</param>
/// <param name="Number">The block's number on its page, from 1.</param>
/// <param name="FirstLine">The page's line number of the block's first line of code.</param>
/// <param name="Code">The code between the fences.</param>
/// <param name="NotCompiledBecause">
/// The reason given by a <c>&lt;!-- not compiled: reason --&gt;</c> comment on the line before the fence, or
/// <see langword="null"/> when the block is compiled.
/// </param>
internal sealed partial record CodeBlock(string Page, int Number, int FirstLine, string Code, string? NotCompiledBecause)
{
    public const string OptOutMarker = "<!-- not compiled:";

    public override string ToString() => $"{Page} block {Number} (line {FirstLine})";

    public static List<CodeBlock> ReadAll(string page)
    {
        var lines = File.ReadAllLines(Path.Combine(Repository.Root, page));
        var blocks = new List<CodeBlock>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (!CSharpFence().IsMatch(lines[i]))
            {
                continue;
            }

            string? reason = null;
            if (i > 0 && lines[i - 1].TrimStart().StartsWith(OptOutMarker, StringComparison.Ordinal))
            {
                var marker = lines[i - 1].Trim();
                reason = marker.EndsWith("-->", StringComparison.Ordinal)
                    ? marker[OptOutMarker.Length..^3].Trim()
                    : string.Empty;
            }

            var start = i + 1;
            var end = start;
            while (end < lines.Length && !lines[end].TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                end++;
            }

            blocks.Add(new CodeBlock(page, blocks.Count + 1, start + 1, string.Join('\n', lines[start..end]), reason));
            i = end;
        }

        return blocks;
    }

    [GeneratedRegex(@"^\s*```\s*(csharp|cs|c#)\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex CSharpFence();
}
