namespace Idempotency.Hosting;

/// <summary>What <c>ProtectStoredResponses()</c> asked for; registered once, the last call's.</summary>
internal sealed record StoredResponseProtectionRequest(string Purpose, bool ProtectNewResponses);
