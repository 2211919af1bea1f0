using Idempotency.Chaos.Reporting;

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
    /// Executions the contract allows: a retry after an earlier execution whose response provably never became the
    /// record and whose lease provably ended (expired or released) before the retry began (docs/contract-notes.md,
    /// "After the handler"). Each is listed with its evidence in <see cref="Reexecutions"/>.
    /// </summary>
    public int AllowedReexecutions => Reexecutions.Count;

    /// <summary>The allowed re-executions, each with its justification.</summary>
    public required IReadOnlyList<AllowedReexecution> Reexecutions { get; init; }

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

    /// <summary>
    /// Asserts the bounds a scenario states: every one of its operations ran, none more than its maximum per
    /// operation, at most its cap of allowed re-executions in all, and the total is exactly what those figures say
    /// (operations + re-executions + duplicates).
    /// </summary>
    public void AssertBounds(ScenarioBounds bounds)
    {
        var (operations, maxPerOperation, maxReexecutions) = (bounds.Operations, bounds.MaxPerOperation, bounds.MaxReexecutions);
        Assert.True(Operations == operations, $"Expected {operations} operations, the history has {Operations}.");
        Assert.True(
            MaxExecutionsPerOperation <= maxPerOperation,
            $"An operation ran {MaxExecutionsPerOperation} times; the bound is {maxPerOperation}.");
        Assert.True(
            AllowedReexecutions <= maxReexecutions,
            $"{AllowedReexecutions} allowed re-executions; the bound is {maxReexecutions} ({bounds.Why}):\n" + string.Join('\n', Reexecutions.Take(20)));
        Assert.True(
            Executions == Operations + AllowedReexecutions + Duplicates,
            $"{Executions} executions for {Operations} operations, {AllowedReexecutions} allowed re-executions and {Duplicates} duplicates: some operation never ran.");
    }

    public override string ToString()
        => $"{Requests} requests, {Operations} operations, {Executions} executions (max {MaxExecutionsPerOperation} per operation, " +
           $"{Duplicates} duplicates, {AllowedReexecutions} allowed re-executions), {Replays} replays, {InFlight} × 409 in flight, " +
           $"{ServerErrors} × 5xx ({Unavailable} × 503), {NoResponse} without response, {LostResponses} lost, {Violations.Count} violations";
}
