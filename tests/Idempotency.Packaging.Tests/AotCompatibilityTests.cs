using System.Collections.Immutable;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Idempotency.Packaging.Tests.Infrastructure;

namespace Idempotency.Packaging.Tests;

/// <summary>
/// The packages that an AOT-published application can use declare it: <c>IsAotCompatible</c> marks the assembly
/// trimmable (<c>[assembly: AssemblyMetadata("IsTrimmable", "True")]</c>) and turns the trimming and AOT analyzers on
/// for its build. <c>./build.sh pack-check</c> publishes an application on them with Native AOT.
/// </summary>
public sealed class AotCompatibilityTests
{
    [Theory]
    [InlineData("Idempotency")]
    [InlineData("Idempotency.Redis")]
    [InlineData("Idempotency.Client")]
    public void Package_assemblies_are_marked_trimmable_for_every_target_framework(string id)
    {
        using var package = PackageFile.Open(id);
        var assemblies = package.EntryNames.Where(n => n.StartsWith("lib/", StringComparison.Ordinal) && n.EndsWith(".dll", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(assemblies);
        foreach (var assembly in assemblies)
        {
            Assert.True(IsMarkedTrimmable(package.Read(assembly)), $"{assembly} in {id} is not marked IsTrimmable.");
        }
    }

    private static bool IsMarkedTrimmable(byte[] image)
    {
        using var pe = new PEReader(ImmutableArray.Create(image));
        var metadata = pe.GetMetadataReader();
        foreach (var handle in metadata.GetAssemblyDefinition().GetCustomAttributes())
        {
            var attribute = metadata.GetCustomAttribute(handle);
            if (attribute.Constructor.Kind != HandleKind.MemberReference)
            {
                continue;
            }

            var constructor = metadata.GetMemberReference((MemberReferenceHandle)attribute.Constructor);
            if (constructor.Parent.Kind != HandleKind.TypeReference
                || metadata.GetString(metadata.GetTypeReference((TypeReferenceHandle)constructor.Parent).Name) != "AssemblyMetadataAttribute")
            {
                continue;
            }

            var value = attribute.DecodeValue(new StringArguments());
            if (value.FixedArguments is [{ Value: "IsTrimmable" }, { Value: string flag }] && string.Equals(flag, "True", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Decodes the two string arguments of <c>AssemblyMetadataAttribute</c>; other types only by name.</summary>
    private sealed class StringArguments : ICustomAttributeTypeProvider<string>
    {
        public string GetPrimitiveType(PrimitiveTypeCode typeCode) => typeCode.ToString();

        public string GetSystemType() => "System.Type";

        public string GetSZArrayType(string elementType) => elementType + "[]";

        public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => reader.GetString(reader.GetTypeDefinition(handle).Name);

        public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => reader.GetString(reader.GetTypeReference(handle).Name);

        public string GetTypeFromSerializedName(string name) => name;

        public PrimitiveTypeCode GetUnderlyingEnumType(string type) => PrimitiveTypeCode.Int32;

        public bool IsSystemType(string type) => type == "System.Type";
    }
}
