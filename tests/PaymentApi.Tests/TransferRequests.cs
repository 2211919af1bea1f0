using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace PaymentApi.Tests;

/// <summary>Builds <c>POST /accounts/{accountId}/transfers</c> requests, reads the answers and the ledger's rows.</summary>
internal static class TransferRequests
{
    public const string SequenceHeader = "Sequence-Number";
    public const string EpochHeader = "Sequence-Epoch";
    public const long OpeningBalance = 100_000;

    /// <summary>A fresh account id, so tests that share an app (and its database) never share an account.</summary>
    public static string NewAccountId() => $"acc-{Guid.NewGuid():N}";

    public static string TransferBody(long amount = 100, string to = "payee-1") =>
        new JsonObject { ["to"] = to, ["amount"] = amount }.ToJsonString();

    public static HttpRequestMessage Create(string accountId, string? sequenceNumber, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/accounts/{accountId}/transfers")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (sequenceNumber is not null)
        {
            request.Headers.TryAddWithoutValidation(SequenceHeader, sequenceNumber);
        }

        return request;
    }

    public static async Task<HttpResponseMessage> PostTransferAsync(this HttpClient client, string accountId, string? sequenceNumber, string body, CancellationToken cancellationToken = default)
    {
        using var request = Create(accountId, sequenceNumber, body);
        return await client.SendAsync(request, cancellationToken);
    }

    public static Task<HttpResponseMessage> PostTransferAsync(this HttpClient client, string accountId, long sequenceNumber, string body, CancellationToken cancellationToken = default) =>
        client.PostTransferAsync(accountId, sequenceNumber.ToString(CultureInfo.InvariantCulture), body, cancellationToken);

    /// <summary>Makes a transfer and returns its JSON; fails the test unless the answer is 201.</summary>
    public static async Task<JsonElement> TransferAsync(this HttpClient client, string accountId, long sequenceNumber, long amount = 100, string to = "payee-1")
    {
        using var response = await client.PostTransferAsync(accountId, sequenceNumber, TransferBody(amount, to));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary><c>GET /accounts/{accountId}</c>; fails the test unless the answer is 200.</summary>
    public static async Task<JsonElement> GetAccountAsync(this HttpClient client, string accountId)
    {
        using var response = await client.GetAsync($"/accounts/{accountId}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static long Balance(this JsonElement account) => account.GetProperty("balance").GetInt64();

    public static long LastSequence(this JsonElement account) => account.GetProperty("lastSequence").GetInt64();

    /// <summary>The account's transfers as stored, in the order they were inserted.</summary>
    public static async Task<TransferRow[]> ReadTransferRowsAsync(string databasePath, string accountId)
    {
        await using var connection = new SqliteConnection($"Data Source={databasePath}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, sequence, to_ref, amount FROM transfers WHERE account_id = $accountId ORDER BY rowid";
        command.Parameters.AddWithValue("$accountId", accountId);
        var rows = new List<TransferRow>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new TransferRow(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3)));
        }

        return [.. rows];
    }
}

internal sealed record TransferRow(string Id, long Sequence, string To, long Amount);
