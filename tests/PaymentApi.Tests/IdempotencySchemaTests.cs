using System.Data.Common;
using Idempotency.Testing.PostgreSql;
using Microsoft.EntityFrameworkCore;
using PaymentApi.Storage;

namespace PaymentApi.Tests;

/// <summary>
/// The idempotency store's tables as <see cref="LedgerSchema"/> writes them by hand are the tables the model maps
/// (<c>MapIdempotencyTables()</c>), column for column and index for index, on each provider: a change on either side
/// that the other does not follow fails here, not in production.
/// </summary>
[Collection(PostgreSqlLedgerCollection.Name)]
public sealed class IdempotencySchemaTests(PostgreSqlServerFixture server)
{
    [Fact]
    public async Task On_SQLite_the_hand_written_idempotency_tables_are_the_ones_the_model_creates()
    {
        var byHand = PaymentApiFactory.NewDatabasePath();
        var byModel = PaymentApiFactory.NewDatabasePath();
        try
        {
            await using var handContext = TestLedgers.CreateContext($"Data Source={byHand}");
            await using var modelContext = TestLedgers.CreateContext($"Data Source={byModel}");

            await AssertSameIdempotencyTablesAsync(handContext, modelContext);
        }
        finally
        {
            TempDatabase.Delete(byHand);
            TempDatabase.Delete(byModel);
        }
    }

    [Fact]
    public async Task On_PostgreSQL_the_hand_written_idempotency_tables_are_the_ones_the_model_creates()
    {
        await using var handContext = TestLedgers.CreateContext(await server.CreateDatabaseAsync());
        await using var modelContext = TestLedgers.CreateContext(await server.CreateDatabaseAsync());

        await AssertSameIdempotencyTablesAsync(handContext, modelContext);
    }

    private static async Task AssertSameIdempotencyTablesAsync(LedgerDbContext handContext, LedgerDbContext modelContext)
    {
        await LedgerSchema.CreateAsync(handContext, CancellationToken.None);
        await modelContext.Database.ExecuteSqlRawAsync(modelContext.Database.GenerateCreateScript());

        var byModel = await DescribeIdempotencyTablesAsync(modelContext);
        var byHand = await DescribeIdempotencyTablesAsync(handContext);

        // The four tables of MapIdempotencyTables(), so the comparison cannot pass on two empty descriptions.
        Assert.Equal(
            ["idempotency_fencing", "idempotency_records", "idempotency_stream_responses", "idempotency_streams"],
            byModel.Select(line => line.Split(' ')[0]).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(byModel, byHand);
    }

    /// <summary>One line per column (name, type, length, nullability, default, key position) and per index (name, definition).</summary>
    private static async Task<List<string>> DescribeIdempotencyTablesAsync(LedgerDbContext context)
    {
        var connection = context.Database.GetDbConnection();
        await context.Database.OpenConnectionAsync();
        try
        {
            if (context.Database.IsNpgsql())
            {
                var lines = await ReadAsync(connection, """
                    SELECT c.table_name || ' ' || c.column_name || ' ' || c.data_type || ' ' || coalesce(c.character_maximum_length::text, '-')
                        || ' ' || c.is_nullable || ' ' || coalesce(c.column_default, '-')
                    FROM information_schema.columns c
                    WHERE c.table_schema = current_schema() AND c.table_name LIKE 'idempotency\_%'
                    ORDER BY c.table_name, c.ordinal_position
                    """);
                lines.AddRange(await ReadAsync(connection, """
                    SELECT tablename || ' index ' || indexname || ' ' || indexdef
                    FROM pg_indexes
                    WHERE schemaname = current_schema() AND tablename LIKE 'idempotency\_%'
                    ORDER BY tablename, indexname
                    """));
                return lines;
            }

            var tables = await ReadAsync(connection, "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'idempotency\\_%' ESCAPE '\\' ORDER BY name");
            var description = new List<string>();
            foreach (var table in tables)
            {
                description.AddRange(await ReadAsync(connection, $"""
                    SELECT '{table} ' || name || ' ' || type || ' ' || "notnull" || ' ' || coalesce(dflt_value, '-') || ' ' || pk
                    FROM pragma_table_info('{table}') ORDER BY cid
                    """));
                description.AddRange(await ReadAsync(connection, $"""
                    SELECT '{table} index ' || l.name || ' ' || l."unique" || ' ' || l.origin || ' ' || group_concat(i.name, ',')
                    FROM pragma_index_list('{table}') l JOIN pragma_index_info(l.name) i
                    GROUP BY l.name ORDER BY l.name
                    """));
            }

            return description;
        }
        finally
        {
            await context.Database.CloseConnectionAsync();
        }
    }

    private static async Task<List<string>> ReadAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var lines = new List<string>();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetString(0));
        }

        return lines;
    }
}
