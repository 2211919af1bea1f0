using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using PaymentApi.Payments;
using PaymentApi.Storage;

namespace PaymentApi.Tests;

/// <summary>
/// The ledger on its own, without the web host or the idempotency middleware: its UNIQUE (owner, idempotency_key)
/// index is the defence in depth that still holds when an idempotency record is lost.
/// </summary>
public sealed class PaymentLedgerTests : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"paymentapi-tests-{Guid.NewGuid():N}");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 11, 23, 9, 30, 0, TimeSpan.Zero));
    private readonly List<LedgerDbContext> _contexts = [];
    private readonly PaymentLedger _ledger;

    public PaymentLedgerTests()
    {
        _ledger = NewLedger();
    }

    // In a folder that does not exist yet: creating the schema creates it.
    private string DatabasePath => Path.Combine(_folder, "data", "ledger.db");

    public Task InitializeAsync() => InitializeSchemaAsync();

    public async Task DisposeAsync()
    {
        foreach (var context in _contexts)
        {
            await context.DisposeAsync();
        }

        TempDatabase.Delete(DatabasePath);
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task Same_owner_and_key_twice_returns_the_first_payment_and_keeps_one_row()
    {
        var first = await _ledger.CreateAsync("alice", "key-1", 1250, "EUR", "Coffee beans", CancellationToken.None);
        _clock.Advance(TimeSpan.FromMinutes(5));

        var second = await _ledger.CreateAsync("alice", "key-1", 1250, "EUR", "Coffee beans", CancellationToken.None);

        Assert.Equal(first, second);
        Assert.Equal(1, await CountRowsAsync());
    }

    [Fact]
    public async Task Same_key_with_other_details_returns_the_payment_recorded_first()
    {
        var first = await _ledger.CreateAsync("alice", "key-1", 1250, "EUR", null, CancellationToken.None);

        var second = await _ledger.CreateAsync("alice", "key-1", 9999, "USD", "Different", CancellationToken.None);

        Assert.Equal(first, second);
        Assert.Equal(1, await CountRowsAsync());
    }

    [Fact]
    public async Task Concurrent_creates_with_one_key_make_one_payment()
    {
        // A ledger each, as each request has its own: a context serves one operation at a time.
        var ledgers = Enumerable.Range(0, 16).Select(_ => NewLedger()).ToList();
        var payments = await Task.WhenAll(ledgers.Select(ledger =>
            Task.Run(() => ledger.CreateAsync("alice", "key-1", 1250, "EUR", null, CancellationToken.None))));

        Assert.Single(payments.Distinct());
        Assert.Equal(1, await CountRowsAsync());
    }

    [Fact]
    public async Task The_same_key_from_two_owners_makes_two_payments()
    {
        var alices = await _ledger.CreateAsync("alice", "key-1", 1250, "EUR", null, CancellationToken.None);
        var bobs = await _ledger.CreateAsync("bob", "key-1", 1250, "EUR", null, CancellationToken.None);

        Assert.NotEqual(alices.Id, bobs.Id);
        Assert.Equal(2, await CountRowsAsync());
    }

    [Fact]
    public async Task Payments_without_a_key_are_not_deduplicated()
    {
        var first = await _ledger.CreateAsync("alice", null, 1250, "EUR", null, CancellationToken.None);
        var second = await _ledger.CreateAsync("alice", null, 1250, "EUR", null, CancellationToken.None);

        Assert.NotEqual(first.Id, second.Id);
        Assert.Equal(2, await CountRowsAsync());
    }

    [Fact]
    public async Task Payments_made_in_the_same_tick_list_newest_first()
    {
        // The clock does not move: created_at ties, and insertion order decides.
        var first = await _ledger.CreateAsync("alice", "key-1", 1, "EUR", null, CancellationToken.None);
        var second = await _ledger.CreateAsync("alice", "key-2", 2, "EUR", null, CancellationToken.None);
        var third = await _ledger.CreateAsync("alice", "key-3", 3, "EUR", null, CancellationToken.None);

        var payments = await _ledger.ListAsync("alice", 10, CancellationToken.None);

        Assert.Equal([third, second, first], payments);
    }

    [Fact]
    public async Task Find_returns_only_the_owners_payment()
    {
        var payment = await _ledger.CreateAsync("alice", "key-1", 1250, "EUR", "Coffee beans", CancellationToken.None);

        Assert.Equal(payment, await _ledger.FindAsync("alice", payment.Id, CancellationToken.None));
        Assert.Null(await _ledger.FindAsync("bob", payment.Id, CancellationToken.None));
    }

    [Fact]
    public async Task A_payment_written_before_the_move_to_EF_Core_reads_as_it_was_and_still_holds_its_key()
    {
        // A row as the ADO.NET ledger wrote it into an existing ledger.db: created_at as ISO 8601 round-trip text.
        await using (var connection = await OpenAsync())
        {
            await using var insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO payments (id, owner, idempotency_key, amount, currency, description, status, created_at)
                VALUES ('pay_old', 'alice', 'key-old', 1250, 'EUR', NULL, 'succeeded', '2025-11-23T09:15:37.8238321+00:00')
                """;
            await insert.ExecuteNonQueryAsync();
        }

        var expected = new Payment("pay_old", 1250, "EUR", null, PaymentLedger.SucceededStatus, new DateTimeOffset(2025, 11, 23, 9, 15, 37, TimeSpan.Zero).AddTicks(8_238_321));

        Assert.Equal(expected, await _ledger.FindAsync("alice", "pay_old", CancellationToken.None));
        Assert.Equal(expected, await _ledger.CreateAsync("alice", "key-old", 1250, "EUR", null, CancellationToken.None));
        Assert.Equal(1, await CountRowsAsync());
    }

    [Fact]
    public async Task Initialize_creates_the_folder_uses_WAL_and_can_run_again()
    {
        await InitializeSchemaAsync();

        Assert.True(File.Exists(DatabasePath));
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", await command.ExecuteScalarAsync());
    }

    private PaymentLedger NewLedger()
    {
        var context = TestLedgers.CreateContext($"Data Source={DatabasePath}");
        _contexts.Add(context);
        return new PaymentLedger(context, _clock);
    }

    private async Task InitializeSchemaAsync()
    {
        await using var context = TestLedgers.CreateContext($"Data Source={DatabasePath}");
        await LedgerSchema.CreateAsync(context, CancellationToken.None);
    }

    private async Task<SqliteConnection> OpenAsync()
    {
        var connection = new SqliteConnection($"Data Source={DatabasePath}");
        await connection.OpenAsync();
        return connection;
    }

    private async Task<long> CountRowsAsync()
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM payments";
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
