using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using PaymentApi.Storage;

namespace PaymentApi.Payments;

/// <summary>
/// The payments table, through the request's <see cref="LedgerDbContext"/>: a payment is saved in whatever
/// transaction is open on that context, or on its own when none is.
/// </summary>
internal sealed class PaymentLedger(LedgerDbContext context, TimeProvider timeProvider)
{
    public const string SucceededStatus = "succeeded";

    // One projection for the queries (translated to SQL) and for the row just saved.
    private static readonly Expression<Func<PaymentEntity, Payment>> AsPayment =
        payment => new Payment(payment.Id, payment.Amount, payment.Currency, payment.Description, payment.Status, payment.CreatedAt);

    private static readonly Func<PaymentEntity, Payment> AsPaymentCompiled = AsPayment.Compile();

    /// <summary>
    /// Records a payment, or returns the payment already recorded under <paramref name="idempotencyKey"/> for this
    /// owner. The caller compares the returned payment with its request to tell a retry from a reused key.
    /// </summary>
    public async Task<Payment> CreateAsync(string owner, string? idempotencyKey, long amount, string currency, string? description, CancellationToken cancellationToken)
    {
        var row = new PaymentEntity
        {
            Id = $"pay_{Guid.CreateVersion7():N}",
            Owner = owner,
            IdempotencyKey = idempotencyKey,
            Amount = amount,
            Currency = currency,
            Description = description,
            Status = SucceededStatus,
            CreatedAt = LedgerTimestamp.Now(timeProvider),
        };

        context.Payments.Add(row);
        try
        {
            await context.SaveChangesAsync(cancellationToken);
            return AsPaymentCompiled(row);
        }
        catch (DbUpdateException exception) when (idempotencyKey is not null && LedgerDatabase.IsUniqueViolation(exception))
        {
            // The key was used before by this owner: the UNIQUE (owner, idempotency_key) index refused the row. Of two
            // concurrent inserts exactly one succeeds; the other waits for it to commit and lands here. Inside an open
            // transaction EF Core saved behind a savepoint and has rolled back to it, so that transaction (on
            // PostgreSQL aborted by any failed statement) goes on. The refused row must not be saved again by the
            // next SaveChanges on this context.
            context.Entry(row).State = EntityState.Detached;
        }

        return await context.Payments.AsNoTracking()
            .Where(payment => payment.Owner == owner && payment.IdempotencyKey == idempotencyKey)
            .Select(AsPayment)
            .SingleOrDefaultAsync(cancellationToken)
            ?? throw new InvalidOperationException("The payment that holds this idempotency key has disappeared.");
    }

    /// <summary>The owner's payments, newest first.</summary>
    public async Task<IReadOnlyList<Payment>> ListAsync(string owner, int limit, CancellationToken cancellationToken)
    {
        // The insertion counter breaks ties between payments made in the same tick.
        return await context.Payments.AsNoTracking()
            .Where(payment => payment.Owner == owner)
            .OrderByDescending(payment => payment.CreatedAt)
            .ThenByDescending(payment => EF.Property<long>(payment, PaymentEntity.LedgerPosition))
            .Take(limit)
            .Select(AsPayment)
            .ToListAsync(cancellationToken);
    }

    /// <summary>The payment with this id when <paramref name="owner"/> made it; otherwise <see langword="null"/>.</summary>
    public Task<Payment?> FindAsync(string owner, string id, CancellationToken cancellationToken) =>
        context.Payments.AsNoTracking()
            .Where(payment => payment.Id == id && payment.Owner == owner)
            .Select(AsPayment)
            .SingleOrDefaultAsync(cancellationToken);

    /// <summary>Reads from the payments table; throws when the database is unreachable or has no schema.</summary>
    public Task PingAsync(CancellationToken cancellationToken) => context.Payments.AsNoTracking().AnyAsync(cancellationToken);
}
