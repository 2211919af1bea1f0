namespace Idempotency.Chaos.Hosting;

/// <summary>One instance of the service under test as a client sees it: in this process (<see cref="ChaosApp"/>) or a process of its own.</summary>
public interface IAppInstance
{
    string Name { get; }

    /// <summary>A client for this instance.</summary>
    HttpClient Client { get; }

    /// <summary>The loopback address the instance listens on; null on TestServer.</summary>
    Uri? Address { get; }
}
