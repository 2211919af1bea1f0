using System.Data.Common;
using Idempotency.Storage;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>The stream operations (sequence mode): a begin (unless a read decides it) or complete locks the stream's row in a transaction; renew and release are one conditional UPDATE.</summary>
internal sealed partial class EntityFrameworkCoreIdempotencyStore
{
    public async ValueTask<SequenceBeginResult> TryBeginSequenceAsync(
        string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        StoreArguments.Key(streamKey, nameof(streamKey));
        StoreArguments.Sequence(epoch, sequenceNumber);
        StoreArguments.Positive(lease, nameof(lease));
        var token = await _tokens.NextAsync(cancellationToken).ConfigureAwait(false);
        var session = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var transaction = await session.Connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var result = await BeginStreamAsync(
                session.Connection, transaction, session.Sql, session.Sql.BeginStream, streamKey, epoch, sequenceNumber, fingerprint, lease, token, ResponseOptions, cancellationToken).ConfigureAwait(false);
            if (result.Status == SequenceBeginStatus.Acquired)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            // Anything else wrote nothing worth keeping (at most a placeholder row): the transaction's disposal rolls it back.
            return result;
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(session.Dialect, ex, cancellationToken))
        {
            throw StoreFailures.Unavailable(ex);
        }
        finally
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }
    }

    public ValueTask<bool> RenewSequenceLeaseAsync(string streamKey, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
    {
        StoreArguments.Key(streamKey, nameof(streamKey));
        StoreArguments.Positive(lease, nameof(lease));
        return RunFencedAsync(static sql => sql.RenewSlot, streamKey, fencingToken, lease, cancellationToken);
    }

    public async ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken)
    {
        StoreArguments.Key(streamKey, nameof(streamKey));
        StoreArguments.Complete(response, retention);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        var session = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var transaction = await session.Connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            if (!await CompleteStreamAsync(
                session.Connection, transaction, session.Sql, session.Sql.ReadOwnedSlot, streamKey, fencingToken, response, window, retention, ResponseOptions, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(session.Dialect, ex, cancellationToken))
        {
            throw StoreFailures.Unavailable(ex);
        }
        finally
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }
    }

    public ValueTask<bool> ReleaseSequenceAsync(string streamKey, long fencingToken, CancellationToken cancellationToken)
    {
        StoreArguments.Key(streamKey, nameof(streamKey));
        return RunFencedAsync(static sql => sql.ReleaseSlot, streamKey, fencingToken, lease: null, cancellationToken);
    }

    /// <summary>
    /// Decides a stream begin in the order of <see cref="IIdempotencySequenceStore.TryBeginSequenceAsync"/> and takes
    /// the slot when it may, with <see cref="StoreSql.BeginStream"/> (or <paramref name="beginCommandText"/>, the same
    /// with a prefix): a number already applied, or an older epoch, is answered from an unlocked read; anything else
    /// from the stream's row locked (a placeholder is created for a missing stream). Runs in
    /// <paramref name="transaction"/>, which the caller commits or rolls back.
    /// </summary>
    internal static async ValueTask<SequenceBeginResult> BeginStreamAsync(
        DbConnection connection, DbTransaction transaction, StoreSql sql, string beginCommandText, string streamKey, long epoch, long sequenceNumber,
        ReadOnlyMemory<byte> fingerprint, TimeSpan lease, long token, IdempotencyOptions responseOptions, CancellationToken cancellationToken)
    {
        bool live;
        long streamEpoch, last;
        bool slotLive;
        long slotEpoch, slotSequence;
        byte[]? slotFingerprint;
        for (var attempt = 1; ; attempt++)
        {
            await using var read = StoreCommands.Create(connection, transaction, beginCommandText);
            StoreCommands.Add(read, StoreSql.Key, streamKey);
            StoreCommands.Add(read, StoreSql.Epoch, epoch);
            StoreCommands.Add(read, StoreSql.Sequence, sequenceNumber);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && reader.GetBoolean(2))
            {
                // What is committed decides a number the stream has applied and an epoch it has left: no lock taken.
                streamEpoch = reader.GetInt64(0);
                last = reader.GetInt64(1);
                if (epoch < streamEpoch)
                {
                    return SequenceBeginResult.EpochFenced(streamEpoch);
                }

                if (epoch == streamEpoch && sequenceNumber <= last)
                {
                    // The window holds only the stream's current epoch and incarnation: a kept entry is this number's.
                    if (reader.IsDBNull(4))
                    {
                        return SequenceBeginResult.AlreadyApplied(last);
                    }

                    return fingerprint.Span.SequenceEqual(reader.GetFieldValue<byte[]>(3))
                        ? SequenceBeginResult.Completed(ReadResponse(reader.GetFieldValue<byte[]>(4), responseOptions))
                        : SequenceBeginResult.FingerprintMismatch();
                }
            }

            if (!await reader.NextResultAsync(cancellationToken).ConfigureAwait(false) || !await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                // No row to lock: the purge deleted the expired stream between the command's insert, which found it
                // still there, and its lock, or another transaction applied this number (or a later epoch) while this
                // one waited for the lock. Running the command again inserts the row afresh, or answers from the read.
                if (attempt == MaxBeginAttempts)
                {
                    // Deleted under us every time: something keeps deleting it; report it busy, as a record begin does.
                    return SequenceBeginResult.InFlight();
                }

                continue;
            }

            live = reader.GetBoolean(2);
            streamEpoch = live ? reader.GetInt64(0) : 0;
            last = live ? reader.GetInt64(1) : 0;
            slotLive = live && reader.GetInt64(3) != 0 && reader.GetBoolean(7);
            slotEpoch = reader.GetInt64(4);
            slotSequence = reader.GetInt64(5);
            slotFingerprint = reader.IsDBNull(6) ? null : reader.GetFieldValue<byte[]>(6);
            break;
        }

        // The locked row is one the read could not decide by: a live stream at an older epoch, or at this epoch below
        // this number, or none (missing or expired).
        var applied = epoch == streamEpoch ? last : 0;
        if (sequenceNumber > applied + 1)
        {
            return SequenceBeginResult.Gap(applied);
        }

        if (slotLive)
        {
            return slotEpoch == epoch && slotSequence == sequenceNumber && !fingerprint.Span.SequenceEqual(slotFingerprint)
                ? SequenceBeginResult.FingerprintMismatch()
                : SequenceBeginResult.InFlight();
        }

        await using (var acquire = StoreCommands.Create(connection, transaction, live ? sql.AcquireSlot : sql.AcquireSlotOfMissingStream))
        {
            StoreCommands.Add(acquire, StoreSql.Key, streamKey);
            StoreCommands.Add(acquire, StoreSql.Token, token);
            StoreCommands.Add(acquire, StoreSql.Epoch, epoch);
            StoreCommands.Add(acquire, StoreSql.Sequence, sequenceNumber);
            StoreCommands.Add(acquire, StoreSql.Fingerprint, StoreCommands.ToArray(fingerprint));
            StoreCommands.Add(acquire, StoreSql.Duration, StoreCommands.Milliseconds(lease));
            await acquire.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return SequenceBeginResult.Acquired(token);
    }

    /// <summary>
    /// Applies the slot <paramref name="fencingToken"/> owns (read and locked with <paramref name="readCommandText"/>):
    /// keeps the response in the window, drops what left it, advances the stream and frees the slot. Runs in
    /// <paramref name="transaction"/>, which the caller commits.
    /// </summary>
    internal static async ValueTask<bool> CompleteStreamAsync(
        DbConnection connection, DbTransaction transaction, StoreSql sql, string readCommandText, string streamKey, long fencingToken,
        StoredResponse response, int window, TimeSpan retention, IdempotencyOptions responseOptions, CancellationToken cancellationToken)
    {
        long streamEpoch, slotEpoch, slotSequence;
        byte[] slotFingerprint;
        await using (var read = StoreCommands.Create(connection, transaction, readCommandText))
        {
            StoreCommands.Add(read, StoreSql.Key, streamKey);
            StoreCommands.Add(read, StoreSql.Token, fencingToken);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            streamEpoch = reader.GetInt64(0);
            slotEpoch = reader.GetInt64(1);
            slotSequence = reader.GetInt64(2);
            slotFingerprint = reader.IsDBNull(3)
                ? throw new InvalidDataException($"The in-flight slot of stream '{streamKey}' has no fingerprint.")
                : reader.GetFieldValue<byte[]>(3);
        }

        await using var apply = StoreCommands.Create(connection, transaction, slotEpoch > streamEpoch ? sql.ApplySlotOfNewEpoch : sql.ApplySlot);
        StoreCommands.Add(apply, StoreSql.Key, streamKey);
        StoreCommands.Add(apply, StoreSql.Sequence, slotSequence);
        StoreCommands.Add(apply, StoreSql.Epoch, Math.Max(slotEpoch, streamEpoch));
        StoreCommands.Add(apply, StoreSql.Fingerprint, slotFingerprint);
        StoreCommands.Add(apply, StoreSql.Response, StoredResponseSerializer.Serialize(response, responseOptions));
        StoreCommands.Add(apply, StoreSql.Below, slotSequence - window);
        StoreCommands.Add(apply, StoreSql.Duration, StoreCommands.Milliseconds(retention));
        await apply.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }
}
