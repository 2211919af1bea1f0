using System.Text;
using Npgsql;

namespace Idempotency.Chaos.History;

/// <summary>
/// Reads the crash-test app's <c>orders</c> table as the executions of a history: each row is one run of the handler
/// (the ground truth a killed process cannot take back), with the request that ran it and the exact body it answered.
/// </summary>
public static class BusinessRows
{
    public static async Task<IReadOnlyList<ExecutionRecord>> ReadAsync(string connectionString, string principal, IReadOnlyCollection<RequestRecord> requests)
    {
        var replayed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var request in requests)
        {
            if (request.Replayed && request.IsSuccess)
            {
                replayed.Add(Convert.ToBase64String(request.Body));
            }
        }

        var executions = new List<ExecutionRecord>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT sequence, key, id, instance, request_id, response FROM orders ORDER BY sequence", connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var body = Encoding.UTF8.GetBytes(reader.GetString(5));
            executions.Add(new ExecutionRecord
            {
                Sequence = reader.GetInt64(0),
                Principal = principal,
                Operation = $"key:{reader.GetString(1)}",
                Location = $"/orders/{reader.GetGuid(2)}",
                Instance = reader.GetString(3),
                RequestId = reader.GetInt64(4),
                Status = 201,
                Body = body,

                // No store reports what became of a response when its process is killed; the clients' answers tell
                // part of it: a response some client got as a replay was stored; one nobody got replayed may never
                // have reached the store (shown as Failed, with Landed unknown). Either way the row carries no lease
                // times (the lease lived in another process), so the checker allows no second row on its account.
                Completion = replayed.Contains(Convert.ToBase64String(body)) ? CompletionOutcome.Stored : CompletionOutcome.Failed,
            });
        }

        return executions;
    }
}
