using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Idempotency.Documentation.Tests.Infrastructure;

/// <summary>
/// Compiles one example, in process, against the assemblies this test runs with (the libraries of this build, ASP.NET
/// Core and the packages the test project references), with Snippets/SnippetContext.cs beside it and the System.Text.Json
/// source generator run on it, as a reader's build runs it.
/// </summary>
/// <remarks>
/// An example with statements is compiled as a program's top-level statements; each of the locals of
/// <c>SnippetContext</c> (<c>builder</c>, <c>app</c>, <c>services</c>, <c>httpClientFactory</c>) that the example uses
/// without declaring is declared before its first statement. An example of declarations only is compiled as a library.
/// <c>#line</c> directives map every diagnostic back to the Markdown page's own line.
/// </remarks>
internal static class SnippetCompiler
{
    private static readonly (string Name, string Declaration)[] ContextLocals =
    [
        ("builder", "var builder = DocumentationSnippets.SnippetContext.Builder;"),
        ("app", "var app = DocumentationSnippets.SnippetContext.App;"),
        ("services", "var services = DocumentationSnippets.SnippetContext.Services;"),
        ("httpClientFactory", "var httpClientFactory = DocumentationSnippets.SnippetContext.HttpClientFactory;"),
    ];

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    private static readonly Lazy<MetadataReference[]> References = new(static () =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(static p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .Select(static p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToArray());

    private static readonly Lazy<SyntaxTree> Context = new(static () => CSharpSyntaxTree.ParseText(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Snippets", "SnippetContext.cs")),
        ParseOptions,
        path: "Snippets/SnippetContext.cs"));

    private static readonly Lazy<ISourceGenerator[]> Generators = new(static () =>
    {
        // Copied from the targeting pack by the project (target CopySnippetGenerators).
        var paths = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Generators"), "*.dll");
        var generators = paths
            .Select(Assembly.LoadFrom)
            .SelectMany(static a => a.GetTypes())
            .Where(static t => !t.IsAbstract && typeof(IIncrementalGenerator).IsAssignableFrom(t) && t.GetCustomAttribute<GeneratorAttribute>() is not null)
            .Select(static t => ((IIncrementalGenerator)Activator.CreateInstance(t)!).AsSourceGenerator())
            .ToArray();
        return generators.Length > 0
            ? generators
            : throw new InvalidOperationException($"No source generator in {Path.Combine(AppContext.BaseDirectory, "Generators")}.");
    });

    /// <summary>The source compiled for <paramref name="block"/>.</summary>
    public static string Source(CodeBlock block)
    {
        var code = block.Code;
        var parsed = (CompilationUnitSyntax)CSharpSyntaxTree.ParseText(code, ParseOptions).GetRoot();
        var statements = parsed.Members.OfType<GlobalStatementSyntax>().ToArray();
        var page = block.Page.Replace("\"", "\\\"", StringComparison.Ordinal);
        if (statements.Length == 0)
        {
            return $"#line {block.FirstLine} \"{page}\"\n{code}\n";
        }

        var declared = statements.Select(static s => s.Statement).SelectMany(static s => s switch
        {
            LocalDeclarationStatementSyntax local => local.Declaration.Variables.Select(static v => v.Identifier.ValueText),
            LocalFunctionStatementSyntax function => [function.Identifier.ValueText],
            _ => [],
        }).ToHashSet(StringComparer.Ordinal);
        var used = parsed.DescendantNodes().OfType<IdentifierNameSyntax>().Select(static i => i.Identifier.ValueText).ToHashSet(StringComparer.Ordinal);
        var locals = ContextLocals.Where(l => used.Contains(l.Name) && !declared.Contains(l.Name)).Select(static l => l.Declaration).ToArray();

        // The locals go after the example's using directives, which must come first.
        var split = parsed.Usings.Count == 0 ? 0 : code.IndexOf('\n', parsed.Usings[^1].Span.End) is var newline and >= 0 ? newline + 1 : code.Length;
        var usingLines = code[..split].Count(static c => c == '\n');
        var source = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"#line {block.FirstLine} \"{page}\"\n")
            .Append(code[..split]);
        if (split > 0 && !code[..split].EndsWith('\n'))
        {
            source.Append('\n');
        }

        source.Append("#line hidden\n");
        foreach (var local in locals)
        {
            source.Append(local).Append('\n');
        }

        return source
            .Append(CultureInfo.InvariantCulture, $"#line {block.FirstLine + usingLines} \"{page}\"\n")
            .Append(code[split..])
            .Append('\n')
            .ToString();
    }

    /// <summary>The errors of compiling <paramref name="block"/>, each as <c>page(line,column): error CSxxxx: message</c>.</summary>
    public static List<string> Errors(CodeBlock block)
    {
        var source = Source(block);
        var tree = CSharpSyntaxTree.ParseText(source, ParseOptions, path: block.Page);
        var hasStatements = ((CompilationUnitSyntax)tree.GetRoot()).Members.OfType<GlobalStatementSyntax>().Any();
        var compilation = CSharpCompilation.Create(
            "Snippet",
            [tree, Context.Value],
            References.Value,
            new CSharpCompilationOptions(
                hasStatements ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable));

        CSharpGeneratorDriver.Create(Generators.Value, parseOptions: ParseOptions)
            .RunGeneratorsAndUpdateCompilation(compilation, out var generated, out var generatorDiagnostics);

        return generatorDiagnostics.Concat(generated.GetDiagnostics())
            .Where(static d => d.Severity == DiagnosticSeverity.Error)
            .Select(static d => d.ToString())
            .ToList();
    }
}
