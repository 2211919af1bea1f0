using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;
using Idempotency.Packaging.Tests.Infrastructure;

namespace Idempotency.Packaging.Tests;

public sealed partial class DocumentationTests
{
    public static TheoryData<string, string> OptionTypes => new()
    {
        { "Idempotency", "Idempotency.IdempotencyOptions" },
        { "Idempotency", "Idempotency.IdempotencyPolicy" },
        { "Idempotency", "Idempotency.IdempotencyAdminOptions" },
        { "Idempotency", "Idempotency.LocalReplayCacheOptions" },
        { "Idempotency", "Idempotency.Storage.InMemoryIdempotencyStoreOptions" },
        { "Idempotency.Redis", "Idempotency.Redis.RedisIdempotencyStoreOptions" },
        { "Idempotency.EntityFrameworkCore", "Idempotency.EntityFrameworkCore.EntityFrameworkCoreIdempotencyStoreOptions" },
        { "Idempotency.Client", "Idempotency.Client.IdempotencyClientOptions" },
    };

    [Theory]
    [MemberData(nameof(OptionTypes))]
    public void Configuration_page_lists_every_public_option(string packageId, string typeName)
    {
        using var package = PackageFile.Open(packageId);
        var options = PublicProperties(package.Read($"lib/net10.0/{packageId}.dll"), typeName);
        Assert.NotEmpty(options);

        var page = File.ReadAllText(Path.Combine(Repository.Root, "docs", "configuration.md"));
        var section = page[page.IndexOf($"## `{typeName[(typeName.LastIndexOf('.') + 1)..]}`", StringComparison.Ordinal)..];
        var nextSection = section.IndexOf("\n## ", 1, StringComparison.Ordinal);
        section = nextSection < 0 ? section : section[..nextSection];
        var missing = options.Where(o => !section.Contains($"| `{o}` |", StringComparison.Ordinal)).ToArray();
        Assert.True(missing.Length == 0, $"docs/configuration.md does not list {typeName}: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Links_to_the_repository_from_package_readmes_point_at_files_that_exist()
    {
        var readmes = Directory.GetFiles(Path.Combine(Repository.Root, "src"), "README.md", SearchOption.AllDirectories)
            .Where(p => Path.GetFileName(Path.GetDirectoryName(p)!).StartsWith("Idempotency", StringComparison.Ordinal))
            .ToArray();
        Assert.Equal(6, readmes.Length);

        foreach (var readme in readmes)
        {
            foreach (Match link in RepositoryLink().Matches(File.ReadAllText(readme)))
            {
                var path = link.Groups["path"].Value;
                Assert.True(File.Exists(Path.Combine(Repository.Root, path)), $"{readme} links to {path}, which does not exist.");
            }
        }
    }

    [Fact]
    public void Relative_links_in_the_docs_point_at_files_that_exist()
    {
        var pages = Directory.GetFiles(Path.Combine(Repository.Root, "docs"), "*.md").Append(Path.Combine(Repository.Root, "README.md"));
        foreach (var page in pages)
        {
            foreach (Match link in RelativeLink().Matches(File.ReadAllText(page)))
            {
                var target = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, link.Groups["path"].Value));
                Assert.True(File.Exists(target) || Directory.Exists(target), $"{page} links to {link.Groups["path"].Value}, which does not exist.");
            }
        }
    }

    private static string[] PublicProperties(byte[] assembly, string fullName)
    {
        using var pe = new PEReader(ImmutableArray.Create(assembly));
        var reader = pe.GetMetadataReader();
        foreach (var handle in reader.TypeDefinitions)
        {
            var type = reader.GetTypeDefinition(handle);
            if ($"{reader.GetString(type.Namespace)}.{reader.GetString(type.Name)}" != fullName)
            {
                continue;
            }

            return type.GetProperties()
                .Select(reader.GetPropertyDefinition)
                .Where(p => IsPublic(reader, p.GetAccessors().Getter))
                .Select(p => reader.GetString(p.Name))
                .ToArray();
        }

        throw new InvalidOperationException($"{fullName} is not in the assembly.");
    }

    private static bool IsPublic(MetadataReader reader, MethodDefinitionHandle getter) =>
        !getter.IsNil && (reader.GetMethodDefinition(getter).Attributes & MethodAttributes.MemberAccessMask) == MethodAttributes.Public;

    [GeneratedRegex(@"https://github\.com/idempotency-dotnet/idempotency/blob/main/(?<path>[^)#\s]+)")]
    private static partial Regex RepositoryLink();

    // Markdown links that are neither absolute URLs nor in-page anchors: [text](path) or [text](path#anchor).
    [GeneratedRegex(@"\]\((?!https?://|#|mailto:)(?<path>[^)#\s]+)(#[^)]*)?\)")]
    private static partial Regex RelativeLink();
}
