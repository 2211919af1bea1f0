using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Testing;

/// <summary>
/// An ASP.NET Core Data Protection key ring held in memory, which a test can rotate. Every protector made from one ring
/// shares its keys, as the instances of a service sharing a key ring do; a second ring stands for a lost or foreign one.
/// </summary>
internal sealed class TestKeyRing : IDisposable
{
    /// <summary>The purpose <c>ProtectStoredResponses()</c> uses by default.</summary>
    public const string Purpose = "Idempotency.StoredResponse";

    private readonly Repository _repository = new();
    private readonly List<ServiceProvider> _instances = [];

    public TestKeyRing()
    {
        var first = NewInstanceServices();

        // A key in use for a while already, as in a running system; Rotate() adds a newer one.
        var now = DateTimeOffset.UtcNow;
        first.GetRequiredService<IKeyManager>().CreateNewKey(now.AddDays(-7), now.AddDays(83));
        Provider = first.GetRequiredService<IDataProtectionProvider>();
        Protector = Provider.CreateProtector(Purpose);
    }

    /// <summary>The Data Protection of the first instance on this ring.</summary>
    public IDataProtectionProvider Provider { get; }

    /// <summary>A protector with the default purpose of stored responses, of the first instance on this ring.</summary>
    public IDataProtector Protector { get; }

    /// <summary>Registers Data Protection on this ring's keys in <paramref name="services"/>, as an application instance does.</summary>
    public IServiceCollection Register(IServiceCollection services)
    {
        services.AddDataProtection().SetApplicationName("idempotency-tests");
        services.Configure<KeyManagementOptions>(options => options.XmlRepository = _repository);
        return services;
    }

    /// <summary>
    /// A protector of another instance on this ring, which reads the ring when it starts: an instance started (or a
    /// deployment made) after a rotation protects with the new key at once, where a running one switches on its next
    /// key ring refresh.
    /// </summary>
    public IDataProtector NewInstanceProtector(string purpose = Purpose)
        => NewInstanceServices().GetRequiredService<IDataProtectionProvider>().CreateProtector(purpose);

    /// <summary>Creates a new key, active at once, which becomes the default key: what a scheduled key rotation does.</summary>
    public void Rotate()
    {
        var now = DateTimeOffset.UtcNow;
        _instances[0].GetRequiredService<IKeyManager>().CreateNewKey(now, now.AddDays(90));
    }

    /// <summary>The id of the key that protected a stored snapshot: after the format's version byte, Data Protection's 4-byte magic header, then the key id.</summary>
    public static Guid KeyIdOf(ReadOnlySpan<byte> snapshot) => new(snapshot.Slice(1 + 4, 16));

    public void Dispose()
    {
        foreach (var instance in _instances)
        {
            instance.Dispose();
        }
    }

    private ServiceProvider NewInstanceServices()
    {
        var services = Register(new ServiceCollection()).BuildServiceProvider();
        _instances.Add(services);
        return services;
    }

    private sealed class Repository : IXmlRepository
    {
        private readonly List<XElement> _elements = [];

        public IReadOnlyCollection<XElement> GetAllElements()
        {
            lock (_elements)
            {
                return _elements.ConvertAll(static element => new XElement(element));
            }
        }

        public void StoreElement(XElement element, string friendlyName)
        {
            lock (_elements)
            {
                _elements.Add(new XElement(element));
            }
        }
    }
}
