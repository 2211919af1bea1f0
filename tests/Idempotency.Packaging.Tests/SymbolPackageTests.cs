using System.Reflection.Metadata;
using System.Text.Json;
using Idempotency.Packaging.Tests.Infrastructure;

namespace Idempotency.Packaging.Tests;

public sealed class SymbolPackageTests
{
    // The CustomDebugInformation kind of a Source Link document (Portable PDB specification).
    private static readonly Guid SourceLinkKind = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");

    [Theory]
    [MemberData(nameof(Repository.Packages), MemberType = typeof(Repository))]
    public void Symbol_package_holds_a_pdb_for_each_assembly(string id, string[] frameworks)
    {
        using var symbols = PackageFile.Open(id, ".snupkg");

        var pdbs = symbols.EntryNames.Where(n => n.EndsWith(".pdb", StringComparison.Ordinal)).Order().ToArray();
        Assert.Equal(frameworks.Select(f => $"lib/{f}/{id}.pdb").Order().ToArray(), pdbs);
    }

    [Theory]
    [MemberData(nameof(Repository.Packages), MemberType = typeof(Repository))]
    public void Pdbs_map_sources_to_the_repository_at_the_packed_commit(string id, string[] frameworks)
    {
        using var package = PackageFile.Open(id);
        using var symbols = PackageFile.Open(id, ".snupkg");
        var commit = package.Metadata("repository")!.Attribute("commit")!.Value;
        var expectedUrl = $"https://raw.githubusercontent.com/idempotency-dotnet/idempotency/{commit}/*";

        foreach (var framework in frameworks)
        {
            var documents = ReadSourceLink(symbols.Read($"lib/{framework}/{id}.pdb"));
            var mapping = Assert.Single(documents);
            Assert.Equal(expectedUrl, mapping.Value);
            Assert.EndsWith("*", mapping.Key, StringComparison.Ordinal);
        }
    }

    private static Dictionary<string, string> ReadSourceLink(byte[] pdb)
    {
        using var provider = MetadataReaderProvider.FromPortablePdbImage(System.Collections.Immutable.ImmutableArray.Create(pdb));
        var reader = provider.GetMetadataReader();
        foreach (var handle in reader.CustomDebugInformation)
        {
            var information = reader.GetCustomDebugInformation(handle);
            if (reader.GetGuid(information.Kind) == SourceLinkKind)
            {
                using var json = JsonDocument.Parse(reader.GetBlobBytes(information.Value));
                return json.RootElement.GetProperty("documents").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
            }
        }

        throw new Xunit.Sdk.XunitException("The PDB has no Source Link document.");
    }
}
