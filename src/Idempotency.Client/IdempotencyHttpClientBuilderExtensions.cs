using Idempotency.Client;
using Idempotency.Client.Internal;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the client side of the idempotency protocol to an <see cref="System.Net.Http.HttpClient"/>.</summary>
public static class IdempotencyHttpClientBuilderExtensions
{
    /// <summary>The category of the handler's log messages.</summary>
    internal const string LoggerCategory = "Idempotency.Client";

    /// <summary>
    /// Gives every request of <see cref="IdempotencyClientOptions.Methods"/> (POST and PATCH by default) one
    /// <c>Idempotency-Key</c> that every retry of the request reuses, retries the server's
    /// <c>409 idempotency-request-in-flight</c> and <c>503 idempotency-store-unavailable</c> with that key after their
    /// <c>Retry-After</c>, and, when <see cref="IdempotencyClientOptions.AssignSequenceNumbers"/> is on, numbers the
    /// requests with <c>Sequence-Number</c>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Ordering rule: the key must be set before, that is outside, any handler that retries or hedges, such as
    /// <c>AddStandardResilienceHandler()</c>, so that every attempt it makes carries the same key. This method always
    /// puts its handler first among the client's handlers, whether it is called before or after the resilience handler
    /// is added; calling it more than once adds one handler and applies every <paramref name="configure"/>.
    /// </para>
    /// <para>
    /// On a builder from <c>ConfigureHttpClientDefaults</c>, the handler is added to every client and
    /// <paramref name="configure"/> applies to every client's options.
    /// </para>
    /// </remarks>
    /// <param name="builder">The client's builder.</param>
    /// <param name="configure">Configures the options of this client; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The builder, to add more handlers (a resilience handler, for example).</returns>
    public static IHttpClientBuilder AddIdempotencyKeys(this IHttpClientBuilder builder, Action<IdempotencyClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        // A null name (ConfigureHttpClientDefaults) configures the options of every client, as AddHttpMessageHandler does.
        if (configure is not null)
        {
            services.Configure(builder.Name, configure);
        }

        if (builder.Name is { } name)
        {
            services.AddOptions<IdempotencyClientOptions>(name).ValidateOnStart();
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IdempotencyClientOptions>, IdempotencyClientOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SequenceCounters>();
        services.Configure<HttpClientFactoryOptions>(builder.Name, static options => options.HttpMessageHandlerBuilderActions.Add(AddOutermost));
        return builder;
    }

    private static void AddOutermost(HttpMessageHandlerBuilder builder)
    {
        var handlers = builder.AdditionalHandlers;
        foreach (var handler in handlers)
        {
            if (handler is IdempotencyKeyHandler)
            {
                return;
            }
        }

        var clientName = builder.Name ?? Options.Options.DefaultName;
        var services = builder.Services;
        var options = services.GetRequiredService<IOptionsMonitor<IdempotencyClientOptions>>().Get(clientName);
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger(LoggerCategory) ?? NullLogger.Instance;

        // Index 0, not Add: handlers added later by AddHttpMessageHandler (a resilience handler among them) sit inside
        // this one, and so do handlers added earlier, whatever order the application wrote its registrations in.
        handlers.Insert(0, new IdempotencyKeyHandler(
            clientName, options, services.GetRequiredService<SequenceCounters>(), services.GetRequiredService<TimeProvider>(), logger));
    }
}
