using System.Collections.Concurrent;
using System.Net;

namespace Idempotency.Client.Tests.Infrastructure;

/// <summary>
/// A primary handler standing in for the server: answers with the queued responses in turn (the last one repeats) and
/// records what each attempt carried.
/// </summary>
public sealed class RecordingHandler : HttpMessageHandler
{
    private readonly ConcurrentQueue<Func<HttpRequestMessage, HttpResponseMessage>> _responses = new();
    private Func<HttpRequestMessage, HttpResponseMessage> _last = static _ => new HttpResponseMessage(HttpStatusCode.Created);

    public ConcurrentQueue<SentRequest> Requests { get; } = new();

    public RecordingHandler Respond(params Func<HttpRequestMessage, HttpResponseMessage>[] responses)
    {
        foreach (var response in responses)
        {
            _responses.Enqueue(response);
        }

        return this;
    }

    public RecordingHandler ThenAlways(Func<HttpRequestMessage, HttpResponseMessage> response)
    {
        _last = response;
        return this;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        => Task.FromResult(Send(request, cancellationToken));

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Requests.Enqueue(new SentRequest(request, Header(request, "Idempotency-Key"), Header(request, "Sequence-Number"),
            Header(request, "Sequence-Stream"), Header(request, "Sequence-Epoch")));
        var respond = _responses.TryDequeue(out var next) ? next : _last;
        var response = respond(request);
        response.RequestMessage = request;
        return response;
    }

    private static string? Header(HttpRequestMessage request, string name)
        => request.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;
}

/// <summary>One attempt as the primary handler saw it.</summary>
public sealed record SentRequest(HttpRequestMessage Message, string? Key, string? SequenceNumber, string? SequenceStream, string? SequenceEpoch);
