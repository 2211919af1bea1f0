// Compiled with every C# example of the docs (not into the test assembly): what an example may use without declaring
// it. The usings are those of a new ASP.NET Core project (`dotnet new web`); anything else an example needs, it says.
// Members are never called: the examples are compiled, not run.
global using System;
global using System.Collections.Generic;
global using System.IO;
global using System.Linq;
global using System.Net.Http;
global using System.Net.Http.Json;
global using System.Threading;
global using System.Threading.Tasks;
global using Microsoft.AspNetCore.Builder;
global using Microsoft.AspNetCore.Hosting;
global using Microsoft.AspNetCore.Http;
global using Microsoft.AspNetCore.Routing;
global using Microsoft.Extensions.Configuration;
global using Microsoft.Extensions.DependencyInjection;
global using Microsoft.Extensions.Hosting;
global using Microsoft.Extensions.Logging;
global using DocumentationSnippets.StandIns;
global using static DocumentationSnippets.Handlers;

namespace DocumentationSnippets
{
    /// <summary>
    /// The locals an example may use without declaring them; each is declared for an example that uses it and does
    /// not declare it itself, as <c>var builder = SnippetContext.Builder;</c>.
    /// </summary>
    public static class SnippetContext
    {
        public static WebApplicationBuilder Builder => throw new NotSupportedException();

        public static WebApplication App => throw new NotSupportedException();

        public static IServiceCollection Services => throw new NotSupportedException();

        public static IHttpClientFactory HttpClientFactory => throw new NotSupportedException();
    }

    /// <summary>Endpoint handlers the examples map, standing for the application's own.</summary>
    public static class Handlers
    {
        public static IResult CreatePayment(Payment payment) => Results.Created($"/payments/{payment.Id}", payment);

        public static IResult Transfer(string accountId) => Results.Ok(accountId);
    }
}

// Types a page declares in one example and uses in others, and the reader's own store. Imported rather than declared
// in the global namespace, so that the example declaring the type itself compiles too (its own declaration wins).
namespace DocumentationSnippets.StandIns
{
    using Idempotency.Storage;

    /// <summary>The request type declared by the first example of docs/getting-started.md.</summary>
    public sealed record OrderRequest(string Item, int Quantity);

    /// <summary>The store declared in "A complete example" of docs/custom-store.md.</summary>
    public sealed class DictionaryStore(TimeProvider timeProvider) : StandInStore(timeProvider);

    /// <summary>The reader's own store, as the store author's tests in src/Idempotency.Testing/README.md construct it.</summary>
    public sealed class MyStore(TimeProvider timeProvider) : StandInStore(timeProvider);

    /// <summary>A store whose members are never called.</summary>
    public abstract class StandInStore(TimeProvider timeProvider) : IIdempotencyStore
    {
        public TimeProvider TimeProvider { get; } = timeProvider;

        public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
            => throw new NotSupportedException();

        public ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
            => throw new NotSupportedException();

        public ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
            => throw new NotSupportedException();

        public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken)
            => throw new NotSupportedException();
    }
}

/// <summary>The application's payment type, as the examples use it.</summary>
public sealed record Payment(string Id, decimal Amount);
