using Microsoft.Extensions.DependencyInjection;

namespace Idempotency;

/// <summary>Configures idempotency services further, for example with a store: <c>services.AddIdempotency().AddRedisStore(...)</c>.</summary>
public interface IIdempotencyBuilder
{
    /// <summary>The application's services.</summary>
    IServiceCollection Services { get; }
}
