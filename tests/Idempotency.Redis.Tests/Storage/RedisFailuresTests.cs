using Idempotency.Redis.Internal;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>
/// The classification behind <see cref="Idempotency.Storage.IdempotencyStoreUnavailableException"/>, for the server
/// replies a test server cannot easily be made to give (a failover, a loading dataset, a busy script, a cluster without
/// quorum). The real-server cases are in <see cref="RedisStoreUnavailableTests"/> and <see cref="RedisStoreServerErrorTests"/>.
/// </summary>
public sealed class RedisFailuresTests
{
    [Theory]
    [InlineData("OOM command not allowed when used memory > 'maxmemory'. script: 4a15868380d4c0a43cee2d948637aff2e12939b5, on @user_script:1.")]
    [InlineData("READONLY You can't write against a read only replica. script: 4a15868380d4c0a43cee2d948637aff2e12939b5, on @user_script:2.")]
    [InlineData("LOADING Redis is loading the dataset in memory")]
    [InlineData("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")]
    [InlineData("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")]
    [InlineData("CLUSTERDOWN The cluster is down")]
    [InlineData("TRYAGAIN Multiple keys request during rehashing of slot")]
    [InlineData("NOREPLICAS Not enough good replicas to write.")]
    [InlineData("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.")]
    [InlineData("ERR Error running script (call to f_4a15868380d4c0a43cee2d948637aff2e12939b5): @user_script:1: -OOM command not allowed when used memory > 'maxmemory'.")]
    [InlineData("ERR Error running script (call to f_4a15868380d4c0a43cee2d948637aff2e12939b5): @user_script:2: -READONLY You can't write against a read only replica.")]
    public void Replies_that_refuse_work_for_now_are_unavailable(string reply)
    {
        Assert.True(RedisFailures.IsUnavailableReply(reply));
        Assert.True(RedisFailures.IsUnavailable(new RedisServerException(reply)));
    }

    [Theory]
    [InlineData("WRONGTYPE Operation against a key holding the wrong kind of value script: 9cd9f6559c07396eb93387dde0b92c8becd09b12, on @user_script:1.")]
    [InlineData("BUSYKEY Target key name already exists.")]
    [InlineData("BUSYGROUP Consumer Group name already exists")]
    [InlineData("NOAUTH Authentication required.")]
    [InlineData("NOPERM this user has no permissions to run the 'evalsha' command")]
    [InlineData("NOSCRIPT No matching script. Please use EVAL.")]
    [InlineData("ERR unknown command 'CONFIG', with args beginning with: 'GET' 'maxmemory-policy' ")]
    [InlineData("ERR Error running script (call to f_4a15868380d4c0a43cee2d948637aff2e12939b5): @user_script:3: user_script:3: attempt to compare nil with number")]
    [InlineData("OOMX not a code this store knows")]
    [InlineData("")]
    public void Replies_that_waiting_will_not_heal_are_not_unavailable(string reply)
    {
        Assert.False(RedisFailures.IsUnavailableReply(reply));
        Assert.False(RedisFailures.IsUnavailable(new RedisServerException(reply)));
    }

    [Fact]
    public void Lost_connections_timeouts_and_a_disposed_connection_are_unavailable()
    {
        Assert.True(RedisFailures.IsUnavailable(new RedisConnectionException(ConnectionFailureType.SocketFailure, "socket closed")));
        Assert.True(RedisFailures.IsUnavailable(new RedisTimeoutException("Timeout awaiting response", CommandStatus.Sent)));
        Assert.True(RedisFailures.IsUnavailable(new TimeoutException()));
        Assert.True(RedisFailures.IsUnavailable(new ObjectDisposedException("RedisConnectionProvider")));
    }

    [Fact]
    public async Task A_connection_torn_down_under_a_write_is_unavailable()
    {
        // What StackExchange.Redis lets through when a connection is reset while a command is written (seen in the
        // chaos harness's proxy scenario): the socket's error, or the completed pipe's refusal to take the write.
        Assert.True(RedisFailures.IsUnavailable(new IOException("Connection reset by peer")));
        Assert.True(RedisFailures.IsUnavailable(new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionReset)));

        var pipe = new System.IO.Pipelines.Pipe();
        await pipe.Writer.CompleteAsync();
        var refused = Assert.ThrowsAny<InvalidOperationException>(() => pipe.Writer.GetMemory(16));
        Assert.True(RedisFailures.IsUnavailable(refused));
    }

    [Fact]
    public void Unreadable_records_and_configuration_errors_are_not_unavailable()
    {
        Assert.False(RedisFailures.IsUnavailable(new InvalidDataException("format version 2")));
        Assert.False(RedisFailures.IsUnavailable(new InvalidOperationException("refused: maxmemory-policy allkeys-lru")));
        Assert.False(RedisFailures.IsUnavailable(new InvalidCastException()));
        Assert.False(RedisFailures.IsUnavailable(new OperationCanceledException()));
    }

    [Fact]
    public void Refused_credentials_are_not_unavailable_whatever_failure_type_carries_them()
    {
        Assert.False(RedisFailures.IsUnavailable(new RedisConnectionException(ConnectionFailureType.AuthenticationFailure, "auth failed")));
        Assert.False(RedisFailures.IsUnavailable(new RedisConnectionException(
            ConnectionFailureType.UnableToResolvePhysicalConnection, "No connection is active/available to service this operation: EVALSHA; NOAUTH Authentication required.")));
        Assert.False(RedisFailures.IsUnavailable(new RedisConnectionException(
            ConnectionFailureType.UnableToConnect, "It was not possible to connect", new RedisServerException("WRONGPASS invalid username-password pair"))));
    }

    [Fact]
    public void A_command_the_client_abandoned_is_unavailability_but_one_its_caller_stopped_waiting_for_is_not()
    {
        // StackExchange.Redis cancels the commands of a connection that failed: a begin that met it once answered 500.
        Assert.True(RedisFailures.IsUnavailable(new TaskCanceledException(), CancellationToken.None));

        using var stopped = new CancellationTokenSource();
        stopped.Cancel();
        Assert.False(RedisFailures.IsUnavailable(new OperationCanceledException(stopped.Token), stopped.Token));
        Assert.False(RedisFailures.IsUnavailable(new InvalidDataException("unreadable record"), CancellationToken.None));
    }
}
