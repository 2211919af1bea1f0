namespace Idempotency.Chaos.Reporting;

/// <summary>
/// What a scenario allows, stated before its check and printed with its figures: every one of
/// <paramref name="Operations"/> ran, none more than <paramref name="MaxPerOperation"/> times, and at most
/// <paramref name="MaxReexecutions"/> allowed re-executions in all, for the reason <paramref name="Why"/> gives (the
/// measured figures the cap rests on).
/// </summary>
public sealed record ScenarioBounds(int Operations, int MaxPerOperation, int MaxReexecutions, string Why);
