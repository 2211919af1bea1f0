using Idempotency.AdminTests;

namespace Idempotency.Tests.Admin;

public sealed class InMemoryAdminEndpointTests : AdminEndpointTests
{
    // The in-memory store is the default: a new application has a new, empty one.
    private protected override void UseStore(IIdempotencyBuilder idempotency)
    {
    }
}
