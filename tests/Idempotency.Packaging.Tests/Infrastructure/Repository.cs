namespace Idempotency.Packaging.Tests.Infrastructure;

/// <summary>The repository the tests run in, and what the packages are expected to say about it.</summary>
internal static class Repository
{
    public const string Url = "https://github.com/idempotency-dotnet/idempotency";

    /// <summary>The packages and the target frameworks each one ships.</summary>
    public static TheoryData<string, string[]> Packages => new()
    {
        { "Idempotency", ["net8.0", "net10.0"] },
        { "Idempotency.Redis", ["net8.0", "net10.0"] },
        { "Idempotency.EntityFrameworkCore", ["net8.0", "net10.0"] },
        { "Idempotency.OpenApi", ["net10.0"] },
        { "Idempotency.Client", ["net8.0", "net10.0"] },
        { "Idempotency.Testing", ["net8.0", "net10.0"] },
    };

    public static string Root { get; } = FindRoot();

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
