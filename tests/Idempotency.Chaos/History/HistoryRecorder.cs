using System.Collections.Concurrent;

namespace Idempotency.Chaos.History;

/// <summary>
/// The shared in-process history of one scenario: every attempt the clients made and every handler execution on any
/// app instance, with the times of the store calls on one monotonic clock (the scenario's <see cref="TimeProvider"/>,
/// so that a fake clock the store runs on is the clock the evidence is read on). Thread-safe; ids are unique within
/// the recorder. It also counts the work still under way (requests inside an app, store calls not yet answered), so
/// that a check waits for every completion to settle instead of sleeping.
/// </summary>
public sealed class HistoryRecorder(TimeProvider? time = null)
{
    private static readonly TimeSpan SettleBound = TimeSpan.FromSeconds(60);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly long _origin = (time ?? TimeProvider.System).GetTimestamp();
    private readonly ConcurrentQueue<RequestRecord> _requests = new();
    private readonly ConcurrentQueue<ExecutionRecord> _executions = new();
    private readonly ConcurrentQueue<Func<Task>> _afterSettling = new();
    private readonly ConcurrentDictionary<long, string> _failures = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource _idle = NewIdle(completed: true);
    private int _working;
    private long _lastRequestId;
    private long _lastLogicalClient;
    private long _lastExecution;

    public IReadOnlyCollection<RequestRecord> Requests => _requests;

    public IReadOnlyCollection<ExecutionRecord> Executions => _executions;

    /// <summary>The run's clock: time since the recorder was made.</summary>
    public TimeSpan Now => _time.GetElapsedTime(_origin);

    public long NextRequestId() => Interlocked.Increment(ref _lastRequestId);

    public long NextLogicalClient() => Interlocked.Increment(ref _lastLogicalClient);

    public void Add(RequestRecord request) => _requests.Enqueue(request);

    /// <summary>Exceptions that escaped an app's pipeline, by request id: what a 500 was.</summary>
    public IReadOnlyDictionary<long, string> Failures => _failures;

    public void AddFailure(long requestId, Exception exception)
    {
        // Its type, message and first frames: enough to tell where it escaped from.
        var lines = exception.ToString().Split('\n');
        _failures[requestId] = string.Join(" | ", lines.Take(8).Select(line => line.Trim()));
    }

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

    /// <summary>A request entered an app, or a store call started: the history is not settled until it ends.</summary>
    public void StartWork()
    {
        lock (_gate)
        {
            if (_working++ == 0)
            {
                _idle = NewIdle(completed: false);
            }
        }
    }

    public void EndWork()
    {
        TaskCompletionSource? idle = null;
        lock (_gate)
        {
            if (--_working == 0)
            {
                idle = _idle;
            }
        }

        idle?.TrySetResult();
    }

    /// <summary>Runs after the work has settled and before the check: the stores are read back (did a failed completion land?).</summary>
    public void AfterSettling(Func<Task> read) => _afterSettling.Enqueue(read);

    /// <summary>
    /// Waits until no request is inside an app and every store call has its answer (the store's own, which may come
    /// long after the middleware stopped waiting), then reads the stores back. Fails when that takes over a minute.
    /// </summary>
    public async Task SettleAsync()
    {
        var deadline = TimeProvider.System.GetTimestamp();
        while (true)
        {
            Task idle;
            lock (_gate)
            {
                if (_working == 0)
                {
                    break;
                }

                idle = _idle.Task;
            }

            var left = SettleBound - TimeProvider.System.GetElapsedTime(deadline);
            if (left <= TimeSpan.Zero || !ReferenceEquals(await Task.WhenAny(idle, Task.Delay(left)), idle))
            {
                Assert.Fail($"The history did not settle within {SettleBound}: {Volatile.Read(ref _working)} requests or store calls still under way.");
            }
        }

        foreach (var read in _afterSettling)
        {
            await read();
        }
    }

    private static TaskCompletionSource NewIdle(bool completed)
    {
        var idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed)
        {
            idle.SetResult();
        }

        return idle;
    }
}
