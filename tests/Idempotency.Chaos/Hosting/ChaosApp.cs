using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Text;
using Idempotency.Chaos.History;
using Idempotency.Redis;
using Idempotency.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.Chaos.Hosting;

/// <summary>
/// One instance of the service under test: a WebApplication with the real middleware on the real store (Redis through
/// its own connection, or in-memory), whose handlers record every execution in the shared history. It listens on
/// 127.0.0.1 with Kestrel, except with a fake clock, where it runs on TestServer (Kestrel keeps its own clock).
/// </summary>
public sealed class ChaosApp : IAppInstance, IAsyncDisposable
{
    public const string KeyPath = "/ops";
    public const string SequencePath = "/streams";
    public const string LargePath = "/large";
    public const string CanonicalPath = "/canonical";

    /// <summary>The size of the <c>/large</c> response: four times the snapshot limit.</summary>
    public static int LargeResponseSize(ChaosAppOptions options) => options.LargeSnapshotLimit * 4;

    private readonly WebApplication _app;

    private ChaosApp(WebApplication app, string name, HttpClient client, Uri? address)
    {
        _app = app;
        Name = name;
        Client = client;
        Address = address;
    }

    public string Name { get; }

    /// <summary>A client for this instance; for Kestrel instances it talks HTTP over loopback.</summary>
    public HttpClient Client { get; }

    /// <summary>The loopback address Kestrel listens on; null on TestServer.</summary>
    public Uri? Address { get; }

    public static async Task<ChaosApp> StartAsync(string name, ChaosAppOptions options, HistoryRecorder history)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (options.Time is null)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodySize;

                // A body that trickles in slower than this is cut off by Kestrel (408), as in production.
                kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 100, gracePeriod: TimeSpan.FromSeconds(2));
            });
        }
        else
        {
            builder.WebHost.UseTestServer();
            builder.Services.AddSingleton(options.Time);
        }

        var idempotency = builder.Services.AddIdempotency(o =>
        {
            o.StoreTimeout = options.StoreTimeout;
            o.DefaultPolicy.Lease = options.Lease;
            o.AddPolicy("large", p =>
            {
                p.Lease = options.Lease;
                p.MaxSnapshotBytes = options.LargeSnapshotLimit;
            });
            o.AddPolicy("canonical", p =>
            {
                p.Lease = options.Lease;
                p.CanonicalJsonFingerprint = true;
            });
            o.AddPolicy("sequence", p =>
            {
                p.Lease = options.Lease;
                p.SequenceRequirement = SequenceRequirement.Required;
            });
        });
        if (options.Redis is not null)
        {
            idempotency.AddRedisStore(o =>
            {
                o.Configuration = options.Redis;
                o.KeyPrefix = options.KeyPrefix;
                o.ReplicasToAcknowledge = options.ReplicasToAcknowledge;
                o.ReplicaAcknowledgeTimeout = options.ReplicaAcknowledgeTimeout;
            });
        }

        DecorateStore(idempotency, options, history);

        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            // Before the middleware: the trace must flow into its store calls as well as into the handler, and the
            // history is not settled while any request is still inside (a handler whose client left runs on).
            history.StartWork();
            try
            {
                RequestTrace.Current = new RequestTrace();
                if (context.Request.Headers.TryGetValue(ChaosHeaders.Principal, out var principal))
                {
                    context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", principal.ToString())], "chaos"));
                }

                await next(context);
            }
            catch (Exception ex) when (Record(ex))
            {
                throw;
            }
            finally
            {
                history.EndWork();
            }

            bool Record(Exception exception)
            {
                if (long.TryParse(context.Request.Headers[ChaosHeaders.RequestId].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                {
                    history.AddFailure(id, exception);
                }

                return false;
            }
        });
        if (options.IdempotencyEnabled)
        {
            app.UseIdempotency();
        }

        var handlers = new Handlers(name, history, options);
        app.MapPost(KeyPath, handlers.RunAsync).RequireIdempotency();
        app.MapPost(SequencePath, handlers.RunAsync).RequireIdempotency("sequence");
        app.MapPost(LargePath, handlers.RunLargeAsync).RequireIdempotency("large");
        app.MapPost(CanonicalPath, handlers.RunAsync).RequireIdempotency("canonical");

        await app.StartAsync();
        if (options.Time is not null)
        {
            return new ChaosApp(app, name, app.GetTestClient(), address: null);
        }

        var address = new Uri(app.Urls.Single());
        var client = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 256,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        })
        {
            BaseAddress = address,
            Timeout = TimeSpan.FromSeconds(60),
        };
        return new ChaosApp(app, name, client, address);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        using (var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await _app.StopAsync(stopping.Token);
        }

        await _app.DisposeAsync();
    }

    /// <summary>
    /// Wraps the store the registration chose, keeping its own construction (internal types included): the Redis store
    /// that AddRedisStore registered as itself, or the in-memory default.
    /// </summary>
    private static void DecorateStore(IIdempotencyBuilder idempotency, ChaosAppOptions options, HistoryRecorder history)
    {
        var redis = options.Redis is not null;
        var wrap = options.WrapStore;
        var type = redis
            ? idempotency.Services.Single(descriptor => descriptor.ServiceType.Name == "RedisIdempotencyStore").ServiceType
            : idempotency.Services.Single(descriptor => descriptor.ServiceType == typeof(IIdempotencyStore)).ImplementationType
                ?? throw new InvalidOperationException("The in-memory store is registered without an implementation type.");
        idempotency.AddStore(provider =>
        {
            var store = (IIdempotencySequenceStore)ActivatorUtilities.CreateInstance(provider, type);
            return new RecordingStore(wrap is null ? store : wrap(store), history, options.StoreLatencyFloor, options.CommandLog);
        });
    }

    /// <summary>The endpoints: each execution answers with a body unique to it, naming principal, operation and instance.</summary>
    private sealed class Handlers(string instance, HistoryRecorder history, ChaosAppOptions options)
    {
        public async Task RunAsync(HttpContext context)
        {
            var request = context.Request;
            var principal = context.User.FindFirst("sub")?.Value ?? "anonymous";
            var operation = request.Headers[ChaosHeaders.Operation].ToString();
            var requestId = long.Parse(request.Headers[ChaosHeaders.RequestId].ToString(), CultureInfo.InvariantCulture);

            // The body is read to its end like a real handler would, so slow and large bodies take their time here too.
            var length = 0L;
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                length += read;
            }

            var (location, body) = Describe(principal, operation, requestId, length);
            var execution = Record(requestId, principal, operation, StatusCodes.Status201Created, location, "application/json", body);
            if (options.BeforeRespond is { } hook)
            {
                await hook(new HandlerContext(instance, principal, operation, requestId, context.RequestAborted));
            }

            await WriteAsync(context, execution);
        }

        public async Task RunLargeAsync(HttpContext context)
        {
            var principal = context.User.FindFirst("sub")?.Value ?? "anonymous";
            var operation = context.Request.Headers[ChaosHeaders.Operation].ToString();
            var requestId = long.Parse(context.Request.Headers[ChaosHeaders.RequestId].ToString(), CultureInfo.InvariantCulture);
            var (location, head) = Describe(principal, operation, requestId, 0);
            var body = new byte[LargeResponseSize(options)];
            body.AsSpan().Fill((byte)'x');
            head.CopyTo(body, 0);
            var execution = Record(requestId, principal, operation, StatusCodes.Status200OK, location, "application/octet-stream", body);
            await WriteAsync(context, execution);
        }

        private (string Location, byte[] Body) Describe(string principal, string operation, long requestId, long bodyLength)
        {
            var location = $"/ops/{instance}/{requestId}";
            var json = $"{{\"principal\":\"{principal}\",\"operation\":\"{Escape(operation)}\",\"instance\":\"{instance}\",\"request\":{requestId},\"bodyLength\":{bodyLength}}}";
            return (location, Encoding.UTF8.GetBytes(json));
        }

        /// <summary>
        /// Records the execution with the lease its request was granted and the headers its response carries: besides
        /// <c>Location</c> and <c>Content-Type</c>, one naming the execution, so that a replay with another execution's
        /// headers (or none) cannot pass for this one's.
        /// </summary>
        private ExecutionRecord Record(long requestId, string principal, string operation, int status, string location, string contentType, byte[] body)
        {
            var execution = history.AddExecution(requestId, principal, operation, instance, status, location, body);
            execution.Headers =
            [
                new("Location", location),
                new("Content-Type", contentType),
                new(ChaosHeaders.Execution, $"{instance}/{requestId.ToString(CultureInfo.InvariantCulture)}"),
            ];
            var trace = RequestTrace.Current!;
            execution.Lease = trace.Lease;
            trace.Execution = execution;
            return execution;
        }

        private static async Task WriteAsync(HttpContext context, ExecutionRecord execution)
        {
            var response = context.Response;
            response.StatusCode = execution.Status;
            foreach (var (name, value) in execution.Headers)
            {
                response.Headers[name] = value;
            }

            response.ContentLength = execution.Body.Length;
            await response.Body.WriteAsync(execution.Body);
        }

        private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
    }
}
