using System.Diagnostics;
using System.Runtime.Intrinsics;

/// <summary>
/// The machine's measured fp32 FMA peak (not assumed): every core runs 12 independent chains of 512-bit (else 256-bit)
/// fused multiply-adds, enough to cover the FMA latency on current x64 cores; best of a few runs. Benchmarks divide
/// their FLOP counts by it to print the FLOP-time bound beside their ratio to a peer.
/// Checked on the Zen 4 build machine (2026-11-26, idle, one thread): 4, 8, 12 or 16 chains of Vector512 or Vector256
/// FMAs all read 117.2-117.4 GFLOP/s, i.e. 32 FLOP per cycle (two 256-bit FMA pipes) at about 3.67 GHz, so the probe
/// is at the core's FMA throughput limit, not at its latency.
/// </summary>
internal static class PeakFlops
{
    /// <summary>
    /// FLOP/s of <paramref name="threads"/> busy threads; with <paramref name="cpuTime"/> per second of process CPU time
    /// (that is, per busy core), the steadier figure when other processes share the cores.
    /// </summary>
    public static double Measure(int threads, double seconds = 0.3, bool cpuTime = false)
    {
        double best = 0;
        using var process = Process.GetCurrentProcess();
        for (int attempt = 0; attempt < 3; attempt++)
        {
            long iterations = 0;
            process.Refresh();
            TimeSpan cpuStart = process.TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
            {
                long done = 0;
                var watch = Stopwatch.StartNew();
                while (watch.Elapsed.TotalSeconds < seconds) done += Vector512.IsHardwareAccelerated ? Chains512() : Chains256();
                Interlocked.Add(ref iterations, done);
            });
            double elapsed = clock.Elapsed.TotalSeconds;
            process.Refresh();
            if (cpuTime)
                elapsed = (process.TotalProcessorTime - cpuStart).TotalSeconds;
            int lanes = Vector512.IsHardwareAccelerated ? 16 : 8;
            best = Math.Max(best, iterations * 12.0 * lanes * 2 / elapsed);
        }
        return best;
    }

    /// <summary>FLOPs of one forward pass of dense layers (2 per multiply-add).</summary>
    public static double DenseForward(IEnumerable<int> widths)
    {
        var w = widths.ToArray();
        double flops = 0;
        for (int i = 0; i + 1 < w.Length; i++) flops += 2.0 * w[i] * w[i + 1];
        return flops;
    }

    private const int Steps = 1 << 16;

    private static long Chains512()
    {
        var a = Vector512.Create(0.999f);
        var b = Vector512.Create(1e-7f);
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default,
            c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (int i = 0; i < Steps; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, a, b); c1 = Vector512.FusedMultiplyAdd(c1, a, b);
            c2 = Vector512.FusedMultiplyAdd(c2, a, b); c3 = Vector512.FusedMultiplyAdd(c3, a, b);
            c4 = Vector512.FusedMultiplyAdd(c4, a, b); c5 = Vector512.FusedMultiplyAdd(c5, a, b);
            c6 = Vector512.FusedMultiplyAdd(c6, a, b); c7 = Vector512.FusedMultiplyAdd(c7, a, b);
            c8 = Vector512.FusedMultiplyAdd(c8, a, b); c9 = Vector512.FusedMultiplyAdd(c9, a, b);
            c10 = Vector512.FusedMultiplyAdd(c10, a, b); c11 = Vector512.FusedMultiplyAdd(c11, a, b);
        }
        // Keeps the chains live so the JIT cannot drop them.
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11) > 1e30f ? Steps + 1 : Steps;
    }

    private static long Chains256()
    {
        var a = Vector256.Create(0.999f);
        var b = Vector256.Create(1e-7f);
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default,
            c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (int i = 0; i < Steps; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, a, b); c1 = Vector256.FusedMultiplyAdd(c1, a, b);
            c2 = Vector256.FusedMultiplyAdd(c2, a, b); c3 = Vector256.FusedMultiplyAdd(c3, a, b);
            c4 = Vector256.FusedMultiplyAdd(c4, a, b); c5 = Vector256.FusedMultiplyAdd(c5, a, b);
            c6 = Vector256.FusedMultiplyAdd(c6, a, b); c7 = Vector256.FusedMultiplyAdd(c7, a, b);
            c8 = Vector256.FusedMultiplyAdd(c8, a, b); c9 = Vector256.FusedMultiplyAdd(c9, a, b);
            c10 = Vector256.FusedMultiplyAdd(c10, a, b); c11 = Vector256.FusedMultiplyAdd(c11, a, b);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11) > 1e30f ? Steps + 1 : Steps;
    }
}
