namespace Idempotency.Problems;

/// <summary>Up to two numeric problem extensions (docs/contract.md §4 names at most two per problem), without a dictionary per response.</summary>
internal readonly struct ProblemExtensions
{
    public ProblemExtensions(string name, long value)
    {
        FirstName = name;
        FirstValue = value;
    }

    public ProblemExtensions(string firstName, long firstValue, string secondName, long secondValue)
    {
        FirstName = firstName;
        FirstValue = firstValue;
        SecondName = secondName;
        SecondValue = secondValue;
    }

    public string? FirstName { get; }

    public long FirstValue { get; }

    public string? SecondName { get; }

    public long SecondValue { get; }
}
