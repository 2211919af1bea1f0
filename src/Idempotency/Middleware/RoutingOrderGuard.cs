using Idempotency.Policies;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Idempotency.Middleware;

/// <summary>
/// Stands in for the endpoint feature while a request without an endpoint passes through the middleware. No endpoint
/// means either that no route matched or that routing runs after this middleware; in the second case routing sets the
/// endpoint through this feature, which refuses an endpoint that takes part in idempotency before its handler runs,
/// so a misordered pipeline fails on its first request instead of silently running every request unprotected.
/// </summary>
internal sealed class RoutingOrderGuard : IEndpointFeature
{
    private readonly IEndpointFeature? _prior;
    private readonly IdempotencyPolicyResolver _policies;
    private readonly string _method;
    private Endpoint? _endpoint;

    public RoutingOrderGuard(IEndpointFeature? prior, IdempotencyPolicyResolver policies, string method)
    {
        _prior = prior;
        _policies = policies;
        _method = method;
    }

    public Endpoint? Endpoint
    {
        get => _prior is null ? _endpoint : _prior.Endpoint;
        set
        {
            if (value is not null && _policies.Resolve(value, _method) is not null)
            {
                throw new InvalidOperationException(
                    $"Endpoint '{value.DisplayName}' takes part in idempotency, but the idempotency middleware ran before routing chose it, so the request " +
                    "would run unprotected. Call app.UseIdempotency() after app.UseRouting() (and after authentication and authorization).");
            }

            if (_prior is null)
            {
                _endpoint = value;
            }
            else
            {
                _prior.Endpoint = value;
            }
        }
    }

    /// <summary>Puts the request's own endpoint feature back, keeping whatever endpoint was chosen meanwhile.</summary>
    public void Remove(IFeatureCollection features)
    {
        features.Set(_prior);
        if (_prior is null && _endpoint is not null)
        {
            features.Set<IEndpointFeature>(new RoutedEndpoint(_endpoint));
        }
    }

    private sealed class RoutedEndpoint(Endpoint endpoint) : IEndpointFeature
    {
        public Endpoint? Endpoint { get; set; } = endpoint;
    }
}
