namespace Idempotency.Testing.Redis;

/// <summary>An error reply from a test server.</summary>
public sealed class RespErrorException(string message) : Exception(message);
