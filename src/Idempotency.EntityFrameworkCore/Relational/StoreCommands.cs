using System.Data;
using System.Data.Common;
using System.Runtime.InteropServices;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>Commands on a context's own connection, with parameters typed the same way for every provider.</summary>
internal static class StoreCommands
{
    public static DbCommand Create(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    public static void Add(DbCommand command, string name, long value) => Add(command, name, DbType.Int64, value);

    public static void Add(DbCommand command, string name, string value) => Add(command, name, DbType.String, value);

    public static void Add(DbCommand command, string name, byte[] value) => Add(command, name, DbType.Binary, value);

    /// <summary>The bytes as an array, without a copy when the memory is a whole array already.</summary>
    public static byte[] ToArray(ReadOnlyMemory<byte> memory)
        => MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : memory.ToArray();

    /// <summary>Milliseconds for a lease or retention, at least 1 (the contract makes every duration positive).</summary>
    public static long Milliseconds(TimeSpan duration) => Math.Max(1, (long)Math.Ceiling(duration.TotalMilliseconds));

    private static void Add(DbCommand command, string name, DbType type, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = type;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
