using System.Diagnostics.Metrics;
using System.Globalization;
using Idempotency.Admin.Views;
using Idempotency.Headers;
using Idempotency.LocalReplay;
using Idempotency.Policies;
using Idempotency.Problems;
using Idempotency.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Admin;

/// <summary>
/// The admin endpoints behind <c>MapIdempotencyAdmin</c>: find a record or stream by its id or by what names it
/// (scope and key, scope and stream), and show or delete it through <see cref="IIdempotencyAdminStore"/>. Store keys
/// come from <see cref="RecordKey"/> and scopes from <see cref="PrincipalScope"/>, the middleware's own derivations,
/// so a lookup finds exactly the record a request with that key would. Every action is logged and counted.
/// </summary>
internal sealed class AdminEndpoints
{
    // A tagged scope holds an issuer and a claim value; a kilobyte leaves room for long issuer URIs and is still bounded.
    private const int MaxScopeLength = 1024;
    private const int MaxPolicyNameLength = 256;
    private const string Unnamed = "(unnamed)";

    private readonly IIdempotencyAdminStore _store;
    private readonly LocalReplayCache? _localReplay;
    private readonly IdempotencyPolicyResolver _policies;
    private readonly IAuthorizationService _authorization;
    private readonly string _policy;
    private readonly string? _contentPolicy;
    private readonly int _maxKeyLength;
    private readonly ProblemResponseWriter _problems;
    private readonly AdminMetrics _metrics;
    private readonly ILogger _logger;

    private AdminEndpoints(IServiceProvider services, IIdempotencyAdminStore store, IdempotencyAdminOptions options)
    {
        var idempotencyOptions = services.GetRequiredService<IOptions<IdempotencyOptions>>().Value;
        _store = store;
        _localReplay = services.GetService<LocalReplayCache>();
        _policies = services.GetRequiredService<IdempotencyPolicyResolver>();
        _authorization = services.GetRequiredService<IAuthorizationService>();
        _policy = options.AuthorizationPolicy!;
        _contentPolicy = options.ContentAuthorizationPolicy;
        _maxKeyLength = idempotencyOptions.MaxKeyLength;

        // Without hooks: an operator's bad lookup is not a client's rejected request, so OnRejected does not hear of it.
        _problems = new ProblemResponseWriter(idempotencyOptions, services.GetService<IProblemDetailsService>());
        _metrics = new AdminMetrics(services.GetRequiredService<IMeterFactory>());
        _logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Idempotency.Admin");
    }

    /// <exception cref="InvalidOperationException">The registered store cannot be inspected.</exception>
    public static AdminEndpoints Create(IServiceProvider services, IdempotencyAdminOptions options)
    {
        var store = services.GetRequiredService<IIdempotencyStore>();
        if (store is not IIdempotencyAdminStore admin)
        {
            throw new InvalidOperationException(
                $"The idempotency store {store.GetType().FullName} does not implement {nameof(IIdempotencyAdminStore)}, so the admin endpoints cannot inspect or repair it. " +
                "Implement it in the store (docs/custom-store.md), or do not map the admin endpoints.");
        }

        return new AdminEndpoints(services, admin, options);
    }

    public void Map(IEndpointRouteBuilder group)
    {
        group.MapGet("/records", InspectRecordAsync);
        group.MapGet("/records/{id}", InspectRecordAsync);
        group.MapDelete("/records", DeleteRecordAsync);
        group.MapDelete("/records/{id}", DeleteRecordAsync);
        group.MapGet("/streams", InspectStreamAsync);
        group.MapGet("/streams/{id}", InspectStreamAsync);
        group.MapDelete("/streams", ResetStreamAsync);
        group.MapDelete("/streams/{id}", ResetStreamAsync);
    }

    private Task InspectRecordAsync(HttpContext context) => RunAsync(context, AdminAction.InspectRecord);

    private Task DeleteRecordAsync(HttpContext context) => RunAsync(context, AdminAction.DeleteRecord);

    private Task InspectStreamAsync(HttpContext context) => RunAsync(context, AdminAction.InspectStream);

    private Task ResetStreamAsync(HttpContext context) => RunAsync(context, AdminAction.ResetStream);

    private async Task RunAsync(HttpContext context, AdminAction action)
    {
        // Answers can hold a stored body, a scope and a key: never for a browser's or proxy's cache, whatever the answer.
        context.Response.Headers.CacheControl = "no-store";
        var caller = context.User.Identity?.Name ?? Unnamed;
        var actionName = NameOf(action);
        var stream = action is AdminAction.InspectStream or AdminAction.ResetStream;
        var kind = stream ? "stream" : "record";
        if (!await IsAuthorizedAsync(context, _policy).ConfigureAwait(false))
        {
            // The authorization middleware let the request through without the policy: an AllowAnonymous convention
            // (on these endpoints or a group around them) or no authorization middleware at all. Refuse it here.
            var authenticated = context.User.Identity?.IsAuthenticated == true;
            var refusal = authenticated ? "forbidden" : "unauthorized";
            AdminLog.Action(_logger, actionName, kind, caller, refusal);
            _metrics.Record(actionName, refusal);
            context.Response.StatusCode = authenticated ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized;
            return;
        }

        var query = context.Request.Query;
        if (!TryReadTarget(context, stream, out var target, out var error)
            || !TryReadInclude(query, action, out var include, out error))
        {
            AdminLog.Action(_logger, actionName, kind, caller, "invalid");
            _metrics.Record(actionName, "invalid");
            await _problems.WriteAsync(context, IdempotencyProblem.AdminRequestInvalid, error).ConfigureAwait(false);
            return;
        }

        var targetName = string.Concat(kind, " ", target.Id);
        if (include != Include.None && !await MayShowContentsAsync(context).ConfigureAwait(false))
        {
            AdminLog.Action(_logger, actionName, targetName, caller, "forbidden");
            _metrics.Record(actionName, "forbidden");
            var detail = string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.AdminContentForbidden.Detail, _contentPolicy is null ? " (none is configured)" : string.Concat(" '", _contentPolicy, "'"));
            await _problems.WriteAsync(context, IdempotencyProblem.AdminContentForbidden, detail).ConfigureAwait(false);
            return;
        }

        string result;
        try
        {
            result = action switch
            {
                AdminAction.InspectRecord => await ShowRecordAsync(context, target, include).ConfigureAwait(false),
                AdminAction.DeleteRecord => await DeleteRecordAsync(target.Id, context.RequestAborted).ConfigureAwait(false) ? "deleted" : "not_found",
                AdminAction.InspectStream => await ShowStreamAsync(context, target, include).ConfigureAwait(false),
                _ => await _store.ResetStreamAsync(target.Id, context.RequestAborted).ConfigureAwait(false) ? "deleted" : "not_found",
            };
        }
        catch (IdempotencyStoreUnavailableException ex)
        {
            AdminLog.StoreUnavailable(_logger, ex, actionName, targetName, caller);
            _metrics.Record(actionName, "store_unavailable");
            await _problems.WriteAsync(context, IdempotencyProblem.StoreUnavailable, "The idempotency store cannot be reached now; try again.", TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            return;
        }
        catch (InvalidDataException ex)
        {
            AdminLog.Unreadable(_logger, ex, actionName, targetName, caller);
            _metrics.Record(actionName, "unreadable");
            await _problems.WriteAsync(context, IdempotencyProblem.RecordUnreadable, IdempotencyProblem.RecordUnreadable.Detail).ConfigureAwait(false);
            return;
        }

        AdminLog.Action(_logger, actionName, targetName, caller, result);
        _metrics.Record(actionName, result);
        if (result == "not_found")
        {
            var detail = string.Format(CultureInfo.InvariantCulture, IdempotencyProblem.AdminNotFound.Detail, kind, target.Id);
            await _problems.WriteAsync(context, IdempotencyProblem.AdminNotFound, detail).ConfigureAwait(false);
        }
        else if (result == "deleted")
        {
            context.Response.StatusCode = StatusCodes.Status204NoContent;
        }
    }

    // This instance's local replay cache forgets the record whatever the store answered (deleted, missing, failed):
    // forgetting is always safe, and a delete that failed half-way may still have removed it. Other instances' caches
    // forget it when their entries expire (docs/local-replay-cache.md).
    private async Task<bool> DeleteRecordAsync(string recordId, CancellationToken cancellationToken)
    {
        try
        {
            return await _store.DeleteRecordAsync(recordId, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _localReplay?.Invalidate(recordId);
        }
    }

    private async Task<string> ShowRecordAsync(HttpContext context, AdminTarget target, Include include)
    {
        if (await _store.InspectRecordAsync(target.Id, context.RequestAborted).ConfigureAwait(false) is not { } record)
        {
            return "not_found";
        }

        var completed = record.Status == IdempotencyRecordStatus.Completed;
        var view = new RecordView
        {
            RecordId = target.Id,
            State = completed ? "completed" : "in-flight",
            FencingToken = completed ? null : record.FencingToken,
            ExpiresAt = record.ExpiresAt,
            CompletedAt = completed && target.Policy is { } policy && record.ExpiresAt != DateTimeOffset.MaxValue ? record.ExpiresAt - policy.Retention : null,
            Policy = target.Policy?.Name,
            Response = record.Response is { } response ? ResponseView.Of(response, (include & Include.Body) != 0) : null,
            Scope = (include & Include.Key) != 0 ? target.Scope : null,
            Key = (include & Include.Key) != 0 ? target.Name : null,
        };
        await context.Response.WriteAsJsonAsync(view, AdminJsonContext.Default.RecordView, contentType: null, context.RequestAborted).ConfigureAwait(false);
        return "found";
    }

    private async Task<string> ShowStreamAsync(HttpContext context, AdminTarget target, Include include)
    {
        if (await _store.InspectStreamAsync(target.Id, context.RequestAborted).ConfigureAwait(false) is not { } info)
        {
            return "not_found";
        }

        var window = new StreamEntryView[info.Window.Count];
        for (var i = 0; i < window.Length; i++)
        {
            var entry = info.Window[i];
            window[i] = new StreamEntryView { SequenceNumber = entry.SequenceNumber, Response = ResponseView.Of(entry.Response, (include & Include.Body) != 0) };
        }

        var view = new StreamView
        {
            StreamId = target.Id,
            Epoch = info.Epoch,
            LastSequenceNumber = info.LastSequenceNumber,
            ExpiresAt = info.ExpiresAt,
            Slot = info.Slot is { } slot
                ? new StreamSlotView { FencingToken = slot.FencingToken, Epoch = slot.Epoch, SequenceNumber = slot.SequenceNumber, LeaseEndsAt = slot.LeaseEndsAt }
                : null,
            Window = window,
            Scope = (include & Include.Key) != 0 ? target.Scope : null,
            Stream = (include & Include.Key) != 0 ? target.Name : null,
        };
        await context.Response.WriteAsJsonAsync(view, AdminJsonContext.Default.StreamView, contentType: null, context.RequestAborted).ConfigureAwait(false);
        return "found";
    }

    private Task<bool> MayShowContentsAsync(HttpContext context)
        => _contentPolicy is null ? Task.FromResult(false) : IsAuthorizedAsync(context, _contentPolicy);

    // The resource is the HttpContext, as the authorization middleware passes it, so a requirement sees the same either way.
    private async Task<bool> IsAuthorizedAsync(HttpContext context, string policy)
        => (await _authorization.AuthorizeAsync(context.User, context, policy).ConfigureAwait(false)).Succeeded;

    /// <summary>
    /// The record or stream a request names: <c>{id}</c> in the route (the id in the transition logs), or
    /// <c>scope</c> with <c>key</c> (a record) or <c>stream</c> (a stream), <c>issuer</c> for a claim's issuer, and for
    /// records <c>policy</c> (default: the default policy), whose key source must be a header.
    /// </summary>
    private bool TryReadTarget(HttpContext context, bool stream, out AdminTarget target, out string error)
    {
        target = default;
        var query = context.Request.Query;
        ResolvedPolicy? policy = null;
        if (!TryReadSingle(query, "policy", 1, MaxPolicyNameLength, required: false, out var policyName, out error))
        {
            return false;
        }

        if (policyName is not null || !stream)
        {
            try
            {
                policy = _policies.GetPolicy(policyName);
            }
            catch (InvalidOperationException)
            {
                error = string.Concat("No idempotency policy is named '", policyName, "'.");
                return false;
            }
        }

        if (context.Request.RouteValues["id"] is string id)
        {
            if (!IsStoreKey(id))
            {
                error = "A record or stream id is the 64 hexadecimal digits the idempotency log events name as Record.";
                return false;
            }

            target = new AdminTarget(id.ToUpperInvariant(), policyName is null ? null : policy, Scope: null, Name: null);
            return true;
        }

        var nameParameter = stream ? "stream" : "key";
        var maxName = stream ? SequenceHeaderParser.MaxStreamLength : _maxKeyLength;
        if (!TryReadSingle(query, "scope", 1, MaxScopeLength, required: true, out var scopeText, out error)
            || !TryReadSingle(query, "issuer", 1, MaxScopeLength, required: false, out var issuer, out error)
            || !TryReadSingle(query, nameParameter, 1, maxName, required: true, out var name, out error))
        {
            return false;
        }

        if (PrincipalScope.FromDescription(scopeText!, issuer) is not { } scope)
        {
            error = "scope must be 'anonymous', 'sub:<value>', 'nameid:<value>' or 'name:<value>' (with issuer=<issuer> when the claim's issuer is not LOCAL AUTHORITY), 'custom:<value>' for a custom scope resolver's scope, or 'worker' / 'worker:<value>' for a background operation's.";
            return false;
        }

        if (!stream && policy!.Key.HeaderName is null)
        {
            // A resolved key names an operation within its endpoint and method, which a lookup here cannot name.
            error = string.Concat("Policy '", policy.Name, "' takes its keys from the request rather than a header; look its records up by the id its log events name.");
            return false;
        }

        var storeKey = stream ? RecordKey.CreateStream(scope, name!) : RecordKey.Create(scope, name!);
        target = new AdminTarget(storeKey, policy, scopeText, name);
        return true;
    }

    private static bool TryReadInclude(IQueryCollection query, AdminAction action, out Include include, out string error)
    {
        include = Include.None;
        error = "";
        var values = query["include"];
        if (values.Count == 0)
        {
            return true;
        }

        if (action is AdminAction.DeleteRecord or AdminAction.ResetStream)
        {
            error = "include applies only to GET.";
            return false;
        }

        foreach (var value in values)
        {
            foreach (var part in (value ?? "").Split(',', StringSplitOptions.TrimEntries))
            {
                if (part.Equals("body", StringComparison.OrdinalIgnoreCase))
                {
                    include |= Include.Body;
                }
                else if (part.Equals("key", StringComparison.OrdinalIgnoreCase))
                {
                    include |= Include.Key;
                }
                else
                {
                    error = "include takes 'body', 'key' or both ('body,key').";
                    return false;
                }
            }
        }

        return true;
    }

    private static bool TryReadSingle(IQueryCollection query, string name, int minLength, int maxLength, bool required, out string? value, out string error)
    {
        value = null;
        error = "";
        var values = query[name];
        if (values.Count == 0)
        {
            if (required)
            {
                error = string.Concat("The query parameter '", name, "' is required.");
                return false;
            }

            return true;
        }

        if (values.Count > 1 || values[0] is not { } single || single.Length < minLength || single.Length > maxLength || HasControlCharacter(single))
        {
            error = string.Create(CultureInfo.InvariantCulture, $"The query parameter '{name}' must appear once and hold {minLength} to {maxLength} characters, none of them control characters.");
            return false;
        }

        value = single;
        return true;
    }

    private static bool HasControlCharacter(string value)
    {
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsStoreKey(string id)
    {
        if (id.Length != 64)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static string NameOf(AdminAction action) => action switch
    {
        AdminAction.InspectRecord => "inspect_record",
        AdminAction.DeleteRecord => "delete_record",
        AdminAction.InspectStream => "inspect_stream",
        _ => "reset_stream",
    };

    private enum AdminAction
    {
        InspectRecord,
        DeleteRecord,
        InspectStream,
        ResetStream,
    }

    [Flags]
    private enum Include
    {
        None = 0,
        Body = 1,
        Key = 2,
    }

    /// <summary>What a request names: the store key, the policy it was looked up with, and the scope and name an operator typed.</summary>
    private readonly record struct AdminTarget(string Id, ResolvedPolicy? Policy, string? Scope, string? Name);
}
