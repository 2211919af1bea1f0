using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Idempotency.Benchmarks.Infrastructure;
using Idempotency.Fingerprinting;
using Idempotency.LoadTest.App;

namespace Idempotency.Benchmarks;

/// <summary>
/// The request fingerprint over method, path, query, content type and body, with the body read from a non-seekable
/// stream as Kestrel gives it (so <c>EnableBuffering</c> buffers it, and past its 30 KiB threshold spills it to a
/// temporary file) and rewound for the handler.
/// </summary>
public class FingerprintBenchmarks
{
    private static readonly int MaxCanonicalJsonBytes = new IdempotencyPolicy().MaxCanonicalJsonBytes;

    private byte[] _body = [];

    [Params(100, 4 * 1024, 64 * 1024)]
    public int BodySize { get; set; }

    [GlobalSetup]
    public void Setup() => _body = OrderHandlers.CreateRequestBody(BodySize);

    /// <summary>The floor: SHA-256 of the body bytes already in memory, nothing else.</summary>
    [Benchmark(Baseline = true)]
    public byte[] Sha256OfBody() => SHA256.HashData(_body);

    /// <summary>The raw fingerprint every policy uses unless it opts into canonical JSON.</summary>
    [Benchmark]
    public async Task<byte[]> Fingerprint()
    {
        var context = Requests.Post("/orders", _body, key: null);
        var fingerprint = await RequestFingerprinter.ComputeAsync(context.Request, FingerprintComponents.All, canonicalJson: false, MaxCanonicalJsonBytes, exclusions: null, extra: null, CancellationToken.None);
        await Requests.CompleteAsync(context);
        return fingerprint;
    }

    /// <summary>The opt-in canonical JSON fingerprint: parses the document and hashes its canonical form.</summary>
    [Benchmark]
    public async Task<byte[]> CanonicalJsonFingerprint()
    {
        var context = Requests.Post("/orders", _body, key: null);
        var fingerprint = await RequestFingerprinter.ComputeAsync(context.Request, FingerprintComponents.All, canonicalJson: true, MaxCanonicalJsonBytes, exclusions: null, extra: null, CancellationToken.None);
        await Requests.CompleteAsync(context);
        return fingerprint;
    }
}
