namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>An error reply from a test server.</summary>
internal sealed class RespErrorException(string message) : Exception(message);
