using System.Diagnostics;
using System.Text;
using Idempotency.Chaos.History;
using Idempotency.Chaos.Hosting;
using Idempotency.Chaos.Reporting;
using Xunit.Abstractions;

namespace Idempotency.Chaos.Scenarios;

/// <summary>
/// Hostile clients against three instances on Redis: fuzzed key and sequence headers (raw bytes, past HttpClient's
/// validation), huge headers and bodies, responses past MaxSnapshotBytes, bodies that trickle, stall or are cut off,
/// and clients that vanish while their handler runs. Refused input must get a 4xx and never reach a handler; accepted
/// input must run exactly once however the client misbehaved; nothing may get a 500.
/// </summary>
public sealed class HostileInputScenarios(ITestOutputHelper output)
{
    private const string LateAbortPrefix = "key:late-abort-";

    private static readonly byte[] Hostile = [.. Enumerable.Range(0x00, 0x20).Where(b => b is not (0x09 or 0x0A or 0x0D)).Select(b => (byte)b), 0x7F, 0x80, 0xC3, 0xA9, 0xFF];

    [Fact]
    public async Task Hostile_input_never_gets_a_500_never_runs_when_refused_and_runs_once_when_accepted()
    {
        var options = new ChaosAppOptions
        {
            MaxRequestBodySize = 1024 * 1024,
            BeforeRespond = static context => context.Operation.StartsWith(LateAbortPrefix, StringComparison.Ordinal)
                ? Task.Delay(TimeSpan.FromMilliseconds(500))
                : Task.CompletedTask,
        };
        await using var cluster = await ChaosCluster.StartAsync(3, options);
        var client = cluster.Client;
        var fuzzCount = ChaosScale.Pick(small: 100, full: 2000);
        var duration = Stopwatch.StartNew();
        var disagreements = new List<string>();

        var cases = new List<Func<Task>>();
        var random = new Random(20261123);
        for (var i = 0; i < fuzzCount; i++)
        {
            var (value, twoLines) = FuzzKey(random, i);
            cases.Add(() => FuzzedKeyAsync(cluster, value, twoLines, disagreements));
        }

        for (var i = 0; i < ChaosScale.Pick(small: 20, full: 300); i++)
        {
            var value = FuzzSequence(random, i);
            cases.Add(() => RefusedAsync(cluster, new RawRequest(ChaosApp.SequencePath, "{}"u8.ToArray()).Header("Sequence-Number", value), $"seq-fuzz-{i}"));
        }

        string[] badEpochs = ["-1", "x", "1.5", "99999999999999999999", " 1 1"];
        foreach (var epoch in badEpochs)
        {
            cases.Add(() => RefusedAsync(cluster, new RawRequest(ChaosApp.SequencePath, "{}"u8.ToArray()).Header("Sequence-Number", "1").Header("Sequence-Epoch", epoch), $"epoch-{epoch}", 400));
        }

        byte[][] badStreams = [Encoding.ASCII.GetBytes(new string('s', 129)), [(byte)'s', 0x01, (byte)'t'], [(byte)'s', 0xC3, 0xA9], "a b"u8.ToArray()];
        foreach (var stream in badStreams)
        {
            cases.Add(() => RefusedAsync(cluster, new RawRequest(ChaosApp.SequencePath, "{}"u8.ToArray()).Header("Sequence-Number", "1").Header("Sequence-Stream", stream), $"stream-{Convert.ToHexString(stream)}", null));
        }

        // Bodies that are hard on the opt-in canonical JSON fingerprint: nesting far past its depth limit, escapes of
        // lone surrogates, invalid UTF-8, many properties. Each is hashed (as bytes when it is not canonical JSON), runs
        // once and replays; none may become a 500.
        for (var i = 0; i < ChaosScale.Pick(small: 1, full: 10); i++)
        {
            var n = i;
            cases.Add(() => AcceptedOnceAsync(cluster, ChaosApp.CanonicalPath, $"deep-{n}", Encoding.ASCII.GetBytes(new string('[', 10_000) + new string(']', 10_000))));
            cases.Add(() => AcceptedOnceAsync(cluster, ChaosApp.CanonicalPath, $"surrogate-{n}", "{\"a\":\"\\ud800\",\"b\":\"\\udfff\\ud800\"}"u8.ToArray()));
            cases.Add(() => AcceptedOnceAsync(cluster, ChaosApp.CanonicalPath, $"utf8-{n}", [(byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)'}']));
            cases.Add(() => AcceptedOnceAsync(cluster, ChaosApp.CanonicalPath, $"wide-{n}", Encoding.ASCII.GetBytes("{" + string.Join(',', Enumerable.Range(0, 20_000).Select(p => $"\"p{p}\":{p}")) + "}")));
        }

        cases.Add(() => RefusedAsync(cluster, KeyRequest("huge-header", "{}"u8.ToArray()).Header("X-Padding", new string('p', 40 * 1024)), "huge-header", 431));
        cases.Add(() => RefusedAsync(cluster, ManyHeaders(KeyRequest("many-headers", "{}"u8.ToArray())), "many-headers", 431));
        cases.Add(() => RefusedAsync(cluster, KeyRequest(new string('k', 10 * 1024), "{}"u8.ToArray()), "huge-key", 400));
        cases.Add(() => RefusedAsync(cluster, KeyRequest("too-big", new byte[2 * 1024 * 1024]), "too-big", 413));
        cases.Add(() => RefusedAsync(cluster, new RawRequest(ChaosApp.KeyPath, new byte[2 * 1024 * 1024]) { Chunked = true, ChunkSize = 64 * 1024 }.Header("Idempotency-Key", "too-big-chunked"), "too-big-chunked", 413));
        for (var i = 0; i < ChaosScale.Pick(small: 2, full: 20); i++)
        {
            var n = i;
            cases.Add(() => LargeRequestBodyAsync(cluster, n));
            cases.Add(() => LargeResponseAsync(cluster, n));
            cases.Add(() => SlowBodyAsync(cluster, n));
            cases.Add(() => CutOffBodyAsync(cluster, n, stall: false));
            cases.Add(() => CutOffBodyAsync(cluster, n, stall: true));
            cases.Add(() => AbortedWhileRunningAsync(cluster, n));
        }

        using (var window = new SemaphoreSlim(16))
        {
            await Task.WhenAll(cases.Select(async run =>
            {
                await window.WaitAsync();
                try
                {
                    await run();
                }
                finally
                {
                    window.Release();
                }
            }));
        }

        foreach (var unanswered in cluster.History.Requests.Where(r => r.Status == 0))
        {
            output.WriteLine($"no response: {unanswered.Operation} attempt {unanswered.Attempt}: {unanswered.Error}");
        }

        var report = await ConcurrencyScenarios.CheckAsync(cluster.History);
        var refused = cluster.History.Requests.Count(r => r.MustBeRejected);
        ScenarioReport.Publish(
            output, "hostile input",
            $"{fuzzCount} fuzzed keys, fuzzed sequence headers, hostile JSON (canonical fingerprint), 40 KiB header, 150 headers, 2 MiB bodies, slow/stalled/cut-off bodies, aborts; {refused} refused",
            report, duration, Bounds(report));
        Assert.True(disagreements.Count == 0, "The middleware and the contract's key grammar disagree:\n" + string.Join('\n', disagreements.Take(20)));
        report.AssertClean();
        report.AssertBounds(Bounds(report));
    }

    // The operations are whatever the fuzzer's accepted keys made; Redis is never faulted, so nothing may run twice.
    private static ScenarioBounds Bounds(CheckReport report)
        => new(report.Operations, MaxPerOperation: 1, MaxReexecutions: 0, "no store fault: nothing may run twice");

    /// <summary>A fuzzed key twice: refused both times, or run once and then replayed.</summary>
    private static async Task FuzzedKeyAsync(ChaosCluster cluster, byte[] value, bool twoLines, List<string> disagreements)
    {
        var canonical = twoLines ? null : KeyGrammar.Canonical(value);
        // Named by the key's hex: Kestrel trims the whitespace a quoted key may end with from the X-Operation header.
        var operation = canonical is null ? $"refused:{Convert.ToHexString(value)}" : $"key-hex:{Convert.ToHexString(Encoding.ASCII.GetBytes(canonical))}";
        var body = Encoding.UTF8.GetBytes($"{{\"fuzz\":\"{Convert.ToHexString(value)}\"}}");
        RawRequest Build()
        {
            var request = new RawRequest(ChaosApp.KeyPath, body).Header("Idempotency-Key", value);
            return twoLines ? request.Header("Idempotency-Key", "second") : request;
        }

        var first = await SendAsync(cluster, Build, "fuzz", operation, mustBeRejected: canonical is null);
        var second = await SendAsync(cluster, Build, "fuzz", operation, mustBeRejected: canonical is null);
        if (canonical is not null && (first.Status != 201 || first.Replayed || second.Status != 201 || !second.Replayed))
        {
            lock (disagreements)
            {
                disagreements.Add($"{Convert.ToHexString(value)} is the key \"{canonical}\" but got {first.Status} then {second.Status} (replayed: {second.Replayed})");
            }
        }
    }

    private static async Task RefusedAsync(ChaosCluster cluster, RawRequest request, string name, int? expected = null)
    {
        var record = await cluster.Client.SendRawAsync(cluster.Instances[0], request, "hostile", $"refused:{name}", cluster.History.NextLogicalClient(), 1, mustBeRejected: true);

        // 0 is allowed: after refusing a body it did not read, Kestrel may reset the connection before the client reads the answer.
        Assert.True(expected is null || record.Status == expected || record.Status == 0, $"{name}: expected {expected}, got {record.Status} {record.Error}");
    }

    /// <summary>An operation whose body is odd but acceptable: it runs once, and the same request again replays it.</summary>
    private static async Task AcceptedOnceAsync(ChaosCluster cluster, string path, string key, byte[] body)
    {
        var operation = OperationRequest.ForKey("hostile", key) with { Path = path, Body = body };
        var first = await cluster.Client.RunAsync(operation, RetryPolicy.Patient);
        var retry = await cluster.Client.RunAsync(operation, RetryPolicy.Patient, firstInstance: 1);
        Assert.True(first.Status == 201 && retry.Replayed, $"{key}: {first.Status}, then {retry.Status} (replayed: {retry.Replayed})");
    }

    /// <summary>A 512 KiB body under the limit: runs once, and its retry (same body) replays.</summary>
    private static async Task LargeRequestBodyAsync(ChaosCluster cluster, int n)
    {
        var body = new byte[512 * 1024];
        body.AsSpan().Fill((byte)'b');
        var operation = OperationRequest.ForKey("hostile", $"large-body-{n}") with { Body = body, ContentType = "application/octet-stream" };
        Assert.Equal(201, (await cluster.Client.RunAsync(operation, RetryPolicy.Patient)).Status);
        Assert.True((await cluster.Client.RunAsync(operation, RetryPolicy.Patient, firstInstance: 1)).Replayed);
    }

    /// <summary>A response four times MaxSnapshotBytes: streamed once; a retry is told it cannot be replayed, and nothing runs again.</summary>
    private static async Task LargeResponseAsync(ChaosCluster cluster, int n)
    {
        var operation = OperationRequest.ForKey("hostile", $"large-response-{n}") with { Path = ChaosApp.LargePath, Hostile = true };
        Assert.Equal(200, (await cluster.Client.RunAsync(operation, RetryPolicy.Patient)).Status);
        var retry = await cluster.Client.RunAsync(operation, RetryPolicy.Patient, firstInstance: 1);
        Assert.Equal(409, retry.Status);
        Assert.Equal("urn:idempotency:idempotency-response-not-replayable", retry.ProblemType);
    }

    /// <summary>A body trickling in 100-byte writes every 50 ms (faster than Kestrel's minimum rate): runs once, then replays.</summary>
    private static async Task SlowBodyAsync(ChaosCluster cluster, int n)
    {
        var body = Encoding.UTF8.GetBytes($"{{\"slow\":\"{new string('s', 1500)}\"}}");
        RawRequest Build() => new RawRequest(ChaosApp.KeyPath, body) { ChunkSize = 100, ChunkDelay = TimeSpan.FromMilliseconds(50) }.Header("Idempotency-Key", $"slow-body-{n}");
        var first = await SendAsync(cluster, Build, "hostile", $"key:slow-body-{n}", mustBeRejected: false);
        var retry = await SendAsync(cluster, Build, "hostile", $"key:slow-body-{n}", mustBeRejected: false);
        Assert.Equal(201, first.Status);
        Assert.True(retry.Replayed);
    }

    /// <summary>
    /// Part of a body, then the client resets the connection (or stalls until Kestrel gives up on it, 408): nothing may
    /// run. The client's retry with the whole body then runs exactly once.
    /// </summary>
    private static async Task CutOffBodyAsync(ChaosCluster cluster, int n, bool stall)
    {
        var name = $"{(stall ? "stalled" : "cut-off")}-body-{n}";
        var body = Encoding.UTF8.GetBytes($"{{\"cut\":\"{new string('c', 4000)}\"}}");
        // A stalled body sends only a few bytes: Kestrel's minimum rate is an average since the body began, so a large
        // first part would buy the client many seconds before it is cut off.
        var cut = new RawRequest(ChaosApp.KeyPath, body) { StopAfterBodyBytes = stall ? 10 : body.Length / 2, Abort = !stall }.Header("Idempotency-Key", name);
        var refused = await cluster.Client.SendRawAsync(cluster.Instances[n % 3], cut, "hostile", $"key:{name}", cluster.History.NextLogicalClient(), 1, mustBeRejected: true);
        Assert.True(refused.Status is 0 or 408, $"{name}: {refused.Status} {refused.Error}");
        var retry = await SendAsync(cluster, () => new RawRequest(ChaosApp.KeyPath, body).Header("Idempotency-Key", name), "hostile", $"key:{name}", mustBeRejected: false);
        Assert.Equal(201, retry.Status);
        Assert.False(retry.Replayed);
    }

    /// <summary>
    /// The whole request is sent, then the client vanishes while its handler runs. The handler runs to its end and its
    /// response is recorded (docs/contract-notes.md, "Client disconnects"), so the retry replays it.
    /// </summary>
    private static async Task AbortedWhileRunningAsync(ChaosCluster cluster, int n)
    {
        var key = $"late-abort-{n}";
        var body = Encoding.UTF8.GetBytes($"{{\"abort\":{n}}}");
        var logical = cluster.History.NextLogicalClient();
        var operation = LateAbortPrefix + n;

        // The client vanishes once its handler has run (its execution is recorded), not after a fixed delay: on a starved
        // machine the server may not have read the request within any delay, and a request reset before its body is read
        // never runs, which proves nothing about a client that leaves while its handler runs.
        var aborted = new RawRequest(ChaosApp.KeyPath, body)
        {
            Abort = true,
            AbortWhen = cancellationToken => WaitForExecutionAsync(cluster, operation, cancellationToken),
        }.Header("Idempotency-Key", key);
        await cluster.Client.SendRawAsync(cluster.Instances[n % 3], aborted, "hostile", operation, logical, 1, mustBeRejected: false);
        var retry = await SendAsync(cluster, () => new RawRequest(ChaosApp.KeyPath, body).Header("Idempotency-Key", key), "hostile", operation, mustBeRejected: false, logical, firstAttempt: 2);
        Assert.True(retry.Replayed, $"{key}: {retry.Status}");
    }

    private static async Task WaitForExecutionAsync(ChaosCluster cluster, string operation, CancellationToken cancellationToken)
    {
        while (!HasExecution(cluster, operation))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(5), cancellationToken);
        }
    }

    private static bool HasExecution(ChaosCluster cluster, string operation)
    {
        foreach (var execution in cluster.History.Executions)
        {
            if (execution.Operation == operation)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Sends a raw request as one logical client, retrying like <see cref="ChaosClient.RunAsync"/>.</summary>
    private static async Task<RequestRecord> SendAsync(ChaosCluster cluster, Func<RawRequest> build, string principal, string operation, bool mustBeRejected, long? logical = null, int firstAttempt = 1)
    {
        var client = logical ?? cluster.History.NextLogicalClient();
        var deadline = Stopwatch.StartNew();
        for (var attempt = firstAttempt; ; attempt++)
        {
            var instance = cluster.Instances[attempt % cluster.Instances.Count];
            var record = await cluster.Client.SendRawAsync(instance, build(), principal, operation, client, attempt, mustBeRejected);
            if (mustBeRejected || !ChaosClient.NeedsRetry(record) || deadline.Elapsed > RetryPolicy.Patient.Deadline)
            {
                return record;
            }

            await Task.Delay(Random.Shared.Next(10, 200));
        }
    }

    private static RawRequest KeyRequest(string key, byte[] body) => new RawRequest(ChaosApp.KeyPath, body).Header("Idempotency-Key", key);

    private static RawRequest ManyHeaders(RawRequest request)
    {
        for (var i = 0; i < 150; i++)
        {
            request.Header($"X-Many-{i}", "v");
        }

        return request;
    }

    /// <summary>A key value built by one of the mutations the contract's grammar has an opinion on.</summary>
    private static (byte[] Value, bool TwoLines) FuzzKey(Random random, int i)
    {
        var key = $"fz{i}";
        string text;
        switch (random.Next(20))
        {
            case 0: text = key; break;
            case 1: text = $"\"{key}\""; break;
            case 2: text = $"\"{key}\\\"q\\\\b\""; break;
            case 3: text = $"\"{key}\\x\""; break;
            case 4:
                var bytes = Encoding.ASCII.GetBytes(key).ToList();
                bytes.Insert(random.Next(bytes.Count + 1), Hostile[random.Next(Hostile.Length)]);
                return ([.. bytes], false);
            case 5: text = key.Insert(random.Next(1, key.Length), " "); break;
            case 6: text = key.Insert(random.Next(1, key.Length), ","); break;
            case 7: text = key.Insert(random.Next(1, key.Length), "\""); break;
            case 8: text = $"\"{key}"; break;
            case 9: text = "\"\""; break;
            case 10: text = "\"   \""; break;
            case 11: text = key.PadRight(KeyGrammar.MaxLength, 'a'); break;
            case 12: text = key.PadRight(KeyGrammar.MaxLength + 1, 'a'); break;
            case 13: text = $"\"{key.PadRight(KeyGrammar.MaxLength, ' ')}\""; break;
            case 14: text = key + RandomPrintable(random, random.Next(1, 30)); break;
            case 15: text = string.Empty; break;
            case 16: return (Encoding.ASCII.GetBytes(key), true);
            case 17: text = $"  {key}\t"; break;
            case 18: text = key.Insert(random.Next(1, key.Length), "\t"); break;
            default: text = $"\"{key} {RandomPrintable(random, random.Next(1, 20)).Replace("\\", "/", StringComparison.Ordinal).Replace("\"", "'", StringComparison.Ordinal)}\""; break;
        }

        return (Encoding.ASCII.GetBytes(text), false);
    }

    /// <summary>A Sequence-Number the contract refuses: each one has a non-digit, a sign, a zero value or overflows.</summary>
    private static string FuzzSequence(Random random, int i)
    {
        string[] fixedForms = ["", "0", "-1", "+1", "1.0", "1e3", "1 2", "9223372036854775808", "99999999999999999999999", "0x10", "abc", "١", "1,2", "--1"];
        return i < fixedForms.Length ? fixedForms[i] : $"{random.Next(1, 1000)}{(char)random.Next('a', 'z' + 1)}{RandomPrintable(random, random.Next(0, 8))}";
    }

    private static string RandomPrintable(Random random, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = (char)random.Next(0x21, 0x7F);
        }

        return new string(chars);
    }
}
