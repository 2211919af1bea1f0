namespace Idempotency;

/// <summary>What a request gets while another request with the same key is still executing.</summary>
public enum ConcurrentRequestHandling
{
    /// <summary>Answer <c>409 idempotency-request-in-flight</c> with <c>Retry-After</c> at once.</summary>
    Reject,

    /// <summary>Wait up to <see cref="IdempotencyPolicy.ConcurrentWaitTimeout"/> for the original to finish, then replay its response (or reject).</summary>
    Wait,
}
