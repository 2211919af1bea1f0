using System.Text;

namespace Idempotency.Chaos.Hosting;

/// <summary>The crash-test app's operations: <c>POST /orders</c> with an idempotency key and a payload of its own.</summary>
public static class CrashOperations
{
    public const string Path = "/orders";

    /// <summary>The app has no authentication: every request is the anonymous caller's, named so in the history.</summary>
    public const string Principal = "anonymous";

    public static OperationRequest Order(string key)
        => new(Principal, $"key:{key}", Path, Encoding.UTF8.GetBytes($"{{\"item\":\"{key}\",\"quantity\":{key.Length}}}")) { Key = key };

    public static IReadOnlyList<OperationRequest> Orders(string prefix, int count)
    {
        var orders = new OperationRequest[count];
        for (var i = 0; i < count; i++)
        {
            orders[i] = Order($"{prefix}-{i}");
        }

        return orders;
    }
}
