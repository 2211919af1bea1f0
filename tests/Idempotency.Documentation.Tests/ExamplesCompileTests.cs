using Idempotency.Documentation.Tests.Infrastructure;

namespace Idempotency.Documentation.Tests;

/// <summary>
/// Every C# example of README.md, docs/*.md and src/*/README.md compiles against this build's libraries, so an API
/// change that breaks an example breaks the build's tests, not a reader. Conventions: docs/public-api.md#examples-compile.
/// </summary>
public sealed class ExamplesCompileTests
{
    public static TheoryData<string, int> Examples()
    {
        var data = new TheoryData<string, int>();
        foreach (var page in Repository.DocumentationPages())
        {
            foreach (var block in CodeBlock.ReadAll(page))
            {
                data.Add(block.Page, block.Number);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Example_compiles_against_the_libraries(string page, int number)
    {
        var block = CodeBlock.ReadAll(page)[number - 1];
        if (block.NotCompiledBecause is not null)
        {
            return;
        }

        var errors = SnippetCompiler.Errors(block);

        Assert.True(
            errors.Count == 0,
            $"The C# example {block} does not compile:\n{string.Join('\n', errors)}\n\nCompiled source:\n{SnippetCompiler.Source(block)}");
    }

    [Fact]
    public void Examples_left_uncompiled_say_why()
    {
        var unexplained = Repository.DocumentationPages()
            .SelectMany(CodeBlock.ReadAll)
            .Where(static b => b.NotCompiledBecause is { Length: 0 })
            .Select(static b => b.ToString())
            .ToArray();

        Assert.True(unexplained.Length == 0, $"'{CodeBlock.OptOutMarker} reason -->' needs a reason: {string.Join(", ", unexplained)}");
    }

    [Fact]
    public void Examples_are_found_on_the_pages_that_have_them()
    {
        var pages = Repository.DocumentationPages().ToArray();

        Assert.Contains("README.md", pages);
        Assert.Contains("docs/getting-started.md", pages);
        Assert.Contains("src/Idempotency/README.md", pages);
        Assert.NotEmpty(CodeBlock.ReadAll("README.md"));
        Assert.NotEmpty(CodeBlock.ReadAll("docs/getting-started.md"));
    }

    [Fact]
    public void Broken_example_is_reported_with_its_page_line_and_compiler_error()
    {
        var block = new CodeBlock("docs/example.md", 1, 40, "using Idempotency;\n\nbuilder.Services.AddIdempotency(o => o.NoSuchOption = true);", null);

        var errors = SnippetCompiler.Errors(block);

        var error = Assert.Single(errors);
        Assert.StartsWith("docs/example.md(42,", error, StringComparison.Ordinal);
        Assert.Contains("CS1061", error, StringComparison.Ordinal);
        Assert.Contains("NoSuchOption", error, StringComparison.Ordinal);
    }
}
