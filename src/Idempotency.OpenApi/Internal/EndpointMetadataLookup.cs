using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Mvc.ApiExplorer;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.OpenApi.Internal;

/// <summary>
/// The metadata of the endpoint a described operation runs as: what the middleware reads from
/// <c>HttpContext.GetEndpoint()</c>. For minimal APIs the description carries it already. An MVC action's descriptor
/// holds only its attributes; conventions (<c>MapControllers().RequireIdempotency()</c>) reach the endpoint alone,
/// so the endpoint is found by the descriptor it carries as metadata.
/// </summary>
internal sealed class EndpointMetadataLookup
{
    private readonly ConditionalWeakTable<ActionDescriptor, EndpointMetadataCollection> _byAction = new();

    public EndpointMetadataCollection For(ApiDescription description, IServiceProvider services)
    {
        var action = description.ActionDescriptor;

        // Minimal APIs describe themselves with a plain ActionDescriptor whose metadata is the endpoint's, conventions included.
        if (action.GetType() == typeof(ActionDescriptor))
        {
            return _byAction.GetValue(action, static a => new EndpointMetadataCollection(a.EndpointMetadata));
        }

        if (_byAction.TryGetValue(action, out var metadata))
        {
            return metadata;
        }

        // Index every action endpoint at once: a document describes them all, and descriptors are replaced (and this
        // table's entries collected) when the actions change.
        if (services.GetService<EndpointDataSource>() is { } endpoints)
        {
            foreach (var endpoint in endpoints.Endpoints)
            {
                if (endpoint.Metadata.GetMetadata<ActionDescriptor>() is { } described)
                {
                    _byAction.AddOrUpdate(described, endpoint.Metadata);
                }
            }
        }

        return _byAction.TryGetValue(action, out metadata) ? metadata : new EndpointMetadataCollection(action.EndpointMetadata);
    }
}
