using System.IO.Compression;
using System.Xml.Linq;

namespace Idempotency.Packaging.Tests.Infrastructure;

/// <summary>One .nupkg or .snupkg produced by this build, opened for reading.</summary>
internal sealed class PackageFile : IDisposable
{
    private readonly ZipArchive _archive;

    private PackageFile(string path)
    {
        Path = path;
        _archive = ZipFile.OpenRead(path);
        var nuspec = _archive.Entries.Single(e => !e.FullName.Contains('/') && e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = nuspec.Open();
        Nuspec = XDocument.Load(stream);
    }

    public string Path { get; }

    public XDocument Nuspec { get; }

    public IEnumerable<string> EntryNames => _archive.Entries.Select(e => e.FullName);

    /// <summary>The value of a metadata element of the nuspec, whatever the nuspec schema's namespace.</summary>
    public XElement? Metadata(string name) =>
        Nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata").Elements().SingleOrDefault(e => e.Name.LocalName == name);

    public byte[] Read(string entryName)
    {
        var entry = _archive.GetEntry(entryName) ?? throw new InvalidOperationException($"{Path} has no entry {entryName}.");
        using var stream = entry.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    public static PackageFile Open(string id, string extension = ".nupkg")
    {
        var candidates = Directory.GetFiles(PackagesDirectory, $"{id}.*{extension}")
            .Where(p => IsVersionOf(System.IO.Path.GetFileName(p), id, extension))
            .ToArray();
        Assert.True(candidates.Length == 1, $"Expected one {id} {extension} in {PackagesDirectory}, found {candidates.Length}.");
        return new PackageFile(candidates[0]);
    }

    public static string PackagesDirectory => System.IO.Path.Combine(AppContext.BaseDirectory, "packages");

    // "Idempotency.0.1.0.nupkg" is a version of Idempotency; "Idempotency.Redis.0.1.0.nupkg" is not.
    private static bool IsVersionOf(string fileName, string id, string extension) =>
        fileName.Length > id.Length + 1 + extension.Length && char.IsAsciiDigit(fileName[id.Length + 1]);

    public void Dispose() => _archive.Dispose();
}
