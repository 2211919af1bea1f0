using System.Diagnostics;

namespace Idempotency.Chaos.Hosting;

/// <summary>Ways of putting operations through a <see cref="ChaosClient"/>.</summary>
public static class Load
{
    /// <summary>
    /// Sends each operation as <paramref name="duplicates"/> logical clients released at the same instant and spread
    /// over the instances, with at most <paramref name="operationsAtOnce"/> operations racing at a time.
    /// </summary>
    public static async Task BurstsAsync(ChaosClient client, IReadOnlyList<OperationRequest> operations, int duplicates, int operationsAtOnce, RetryPolicy policy)
    {
        using var window = new SemaphoreSlim(operationsAtOnce);
        var all = new List<Task>(operations.Count);
        foreach (var operation in operations)
        {
            await window.WaitAsync();
            all.Add(ReleasingAsync(BurstAsync(client, operation, duplicates, policy), window));
        }

        await Task.WhenAll(all);
    }

    private static async Task ReleasingAsync(Task burst, SemaphoreSlim window)
    {
        try
        {
            await burst;
        }
        finally
        {
            window.Release();
        }
    }

    /// <summary>
    /// Starts the operations at an even pace over <paramref name="duration"/> (each as a burst of duplicates), so that
    /// faults injected meanwhile hit requests in every phase: before begin, in the handler, at completion.
    /// </summary>
    public static async Task PacedAsync(ChaosClient client, IReadOnlyList<OperationRequest> operations, int duplicates, TimeSpan duration, RetryPolicy policy)
    {
        var clock = Stopwatch.StartNew();
        var all = new List<Task>(operations.Count);
        for (var i = 0; i < operations.Count; i++)
        {
            var due = duration * i / operations.Count;
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            all.Add(BurstAsync(client, operations[i], duplicates, policy));
        }

        await Task.WhenAll(all);
    }

    public static Task BurstAsync(ChaosClient client, OperationRequest operation, int duplicates, RetryPolicy policy)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clients = new Task[duplicates];
        for (var d = 0; d < duplicates; d++)
        {
            var instance = d;
            clients[d] = Task.Run(async () =>
            {
                await start.Task;
                await client.RunAsync(operation, policy, instance);
            });
        }

        start.SetResult();
        return Task.WhenAll(clients);
    }

    /// <summary>
    /// Runs <paramref name="streams"/> sequence streams side by side (half alice's, half bob's, with the same names),
    /// each sending numbers 1 to <paramref name="numbers"/> in order, every number as a burst of duplicates; the next
    /// number goes out once every duplicate of the previous one has its answer, as a client waiting for its
    /// acknowledgement would.
    /// </summary>
    public static Task StreamsAsync(ChaosClient client, int streams, int numbers, int duplicates, RetryPolicy policy)
    {
        var runs = new Task[streams];
        for (var s = 0; s < streams; s++)
        {
            var principal = s % 2 == 0 ? "alice" : "bob";
            var stream = $"stream-{s / 2}";
            runs[s] = Task.Run(async () =>
            {
                for (var n = 1; n <= numbers; n++)
                {
                    await BurstAsync(client, OperationRequest.ForSequence(principal, stream, n), duplicates, policy);
                }
            });
        }

        return Task.WhenAll(runs);
    }

    /// <summary>Operations for <paramref name="count"/> keys; the same key names are used by two principals, so scopes must keep them apart.</summary>
    public static List<OperationRequest> KeyOperations(string prefix, int count)
    {
        var operations = new List<OperationRequest>(count);
        for (var i = 0; i < count; i++)
        {
            operations.Add(OperationRequest.ForKey(i % 2 == 0 ? "alice" : "bob", $"{prefix}-{i / 2}"));
        }

        return operations;
    }
}
