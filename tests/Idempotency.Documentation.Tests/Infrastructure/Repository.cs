namespace Idempotency.Documentation.Tests.Infrastructure;

/// <summary>The repository the tests run in.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    /// <summary>The pages whose C# examples must compile: README.md, docs/*.md and each package's README, as repository paths.</summary>
    public static IEnumerable<string> DocumentationPages() =>
        new[] { "README.md" }
            .Concat(Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Select(p => Path.GetRelativePath(Root, p)))
            .Concat(Directory.GetDirectories(Path.Combine(Root, "src"))
                .Select(d => Path.Combine(d, "README.md"))
                .Where(File.Exists)
                .Select(p => Path.GetRelativePath(Root, p)))
            .Select(p => p.Replace('\\', '/'))
            .Order(StringComparer.Ordinal);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Idempotency.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Idempotency.sln above {AppContext.BaseDirectory}.");
    }
}
