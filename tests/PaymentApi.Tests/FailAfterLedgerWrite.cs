using Microsoft.EntityFrameworkCore.Diagnostics;

namespace PaymentApi.Tests;

/// <summary>
/// Makes the ledger's next <c>SaveChanges</c> throw once its rows are written: a handler that fails after its
/// business write (a bug, a call to a third party that throws), the case transactional mode exists for. Unarmed it
/// does nothing.
/// </summary>
public sealed class FailAfterLedgerWrite : SaveChangesInterceptor
{
    private int _armed;

    /// <summary>The next save, on any request, writes its rows and then throws.</summary>
    public void ArmOnce() => Volatile.Write(ref _armed, 1);

    public override ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default) =>
        Interlocked.Exchange(ref _armed, 0) == 1
            ? throw new InvalidOperationException("The handler failed after its ledger write.")
            : ValueTask.FromResult(result);
}
