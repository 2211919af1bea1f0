using System.Collections.Concurrent;

namespace Idempotency.Chaos.History;

/// <summary>
/// The shared in-process history of one scenario: every attempt the clients made and every handler execution on any
/// app instance. Thread-safe; ids are unique within the recorder.
/// </summary>
public sealed class HistoryRecorder
{
    private readonly ConcurrentQueue<RequestRecord> _requests = new();
    private readonly ConcurrentQueue<ExecutionRecord> _executions = new();
    private long _lastRequestId;
    private long _lastLogicalClient;
    private long _lastExecution;

    public IReadOnlyCollection<RequestRecord> Requests => _requests;

    public IReadOnlyCollection<ExecutionRecord> Executions => _executions;

    public long NextRequestId() => Interlocked.Increment(ref _lastRequestId);

    public long NextLogicalClient() => Interlocked.Increment(ref _lastLogicalClient);

    public void Add(RequestRecord request) => _requests.Enqueue(request);

    /// <summary>Records an execution; the order of calls is the order the checker sees executions in.</summary>
    public ExecutionRecord AddExecution(long requestId, string principal, string operation, string instance, int status, string location, byte[] body)
    {
        var execution = new ExecutionRecord
        {
            RequestId = requestId,
            Sequence = Interlocked.Increment(ref _lastExecution),
            Principal = principal,
            Operation = operation,
            Instance = instance,
            Status = status,
            Location = location,
            Body = body,
        };
        _executions.Enqueue(execution);
        return execution;
    }
}
