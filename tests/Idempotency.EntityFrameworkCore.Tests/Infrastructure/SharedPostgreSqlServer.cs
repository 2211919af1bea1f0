using Idempotency.Testing.PostgreSql;
using Xunit.Abstractions;

namespace Idempotency.EntityFrameworkCore.Tests.Infrastructure;

/// <summary>
/// One <see cref="PostgreSqlServerFixture"/> for every collection of this assembly: started by the first collection
/// that needs it and stopped (by its PID) when the last one is done, so that the collections can run in parallel
/// without a server each.
/// </summary>
internal static class SharedPostgreSqlServer
{
    private static readonly SemaphoreSlim s_gate = new(1, 1);
    private static PostgreSqlServerFixture? s_server;
    private static int s_users;

    public static async Task<PostgreSqlServerFixture> AcquireAsync(IMessageSink diagnostics)
    {
        await s_gate.WaitAsync();
        try
        {
            if (s_server is null)
            {
                var server = new PostgreSqlServerFixture(diagnostics);
                try
                {
                    await server.InitializeAsync();
                }
                catch
                {
                    await server.DisposeAsync();
                    throw;
                }

                s_server = server;
            }

            s_users++;
            return s_server;
        }
        finally
        {
            s_gate.Release();
        }
    }

    public static async Task ReleaseAsync()
    {
        await s_gate.WaitAsync();
        try
        {
            if (--s_users == 0 && s_server is { } server)
            {
                s_server = null;
                await server.DisposeAsync();
            }
        }
        finally
        {
            s_gate.Release();
        }
    }
}
