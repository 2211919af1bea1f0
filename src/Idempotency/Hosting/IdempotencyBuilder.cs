using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Hosting;

internal sealed class IdempotencyBuilder(IServiceCollection services) : IIdempotencyBuilder
{
    public IServiceCollection Services { get; } = services;
}
