namespace Idempotency.Chaos.History;

/// <summary>The figures of one history and every violation the checker found in it.</summary>
public sealed class CheckReport
{
    public required int Requests { get; init; }

    public required int Operations { get; init; }

    public required int Executions { get; init; }

    /// <summary>The most executions any one operation had (1 when every operation ran once).</summary>
    public required int MaxExecutionsPerOperation { get; init; }

    /// <summary>Executions the contract does not allow (each is also a <see cref="ViolationKind.DuplicateExecution"/>).</summary>
    public required int Duplicates { get; init; }

    /// <summary>
    /// Executions the contract allows: a retry after an earlier execution whose response could not be stored (its
    /// completion failed or was fenced, so its record expired with its lease: docs/contract-notes.md, "After the handler").
    /// </summary>
    public required int AllowedReexecutions { get; init; }

    public required int LostResponses { get; init; }

    public required int ServerErrors { get; init; }

    public required int Unavailable { get; init; }

    public required int InFlight { get; init; }

    public required int Replays { get; init; }

    /// <summary>Attempts that got no HTTP response at all (connection dropped or aborted by the client).</summary>
    public required int NoResponse { get; init; }

    public required IReadOnlyList<Violation> Violations { get; init; }

    public int CountOf(ViolationKind kind)
    {
        var count = 0;
        foreach (var violation in Violations)
        {
            count += violation.Kind == kind ? 1 : 0;
        }

        return count;
    }

    /// <summary>Fails with the first violations listed, if there are any.</summary>
    public void AssertClean()
    {
        if (Violations.Count > 0)
        {
            Assert.Fail($"{Violations.Count} violation(s):\n" + string.Join('\n', Violations.Take(20)));
        }
    }

    public override string ToString()
        => $"{Requests} requests, {Operations} operations, {Executions} executions (max {MaxExecutionsPerOperation} per operation, " +
           $"{Duplicates} duplicates, {AllowedReexecutions} allowed re-executions), {Replays} replays, {InFlight} × 409 in flight, " +
           $"{ServerErrors} × 5xx ({Unavailable} × 503), {NoResponse} without response, {LostResponses} lost, {Violations.Count} violations";
}
