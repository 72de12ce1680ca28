using System.Diagnostics;
using Microsoft.ML.Vae.Engine.Managed;

namespace Microsoft.ML.Vae.Benchmarks;

/// <summary>
/// GFLOP/s of the managed SGEMM against OpenBLAS on the shapes of the 784-200-200-50 IWAE (batch 100, K = 50).
/// Usage: GemmBench [--threads N] [--runs N] [--width scalar|vector128|vector256|vector512] [--shape NAME] [--cpu-time]
/// With --cpu-time the rates are per second of process CPU time (per busy core) rather than of wall-clock time,
/// which is steadier when other processes share the cores.
/// </summary>
internal static class Program
{
    private sealed record Shape(string Name, Transpose TransA, Transpose TransB, int M, int N, int K);

    private static bool s_cpuTime;

    private static readonly Shape[] s_shapes =
    [
        new("G·Wout [5000x200]·[200x784]", Transpose.No, Transpose.No, 5000, 784, 200),
        new("[5000x784]·[784x200]", Transpose.No, Transpose.No, 5000, 200, 784),
        new("G·V [5000x200]·[200x200]", Transpose.No, Transpose.No, 5000, 200, 200),
        new("X·W0 [100x784]·[784x200]", Transpose.No, Transpose.No, 100, 200, 784),
        new("Z·V0 [5000x50]·[50x200]", Transpose.No, Transpose.No, 5000, 200, 50),
        new("dO·Woutᵀ [5000x784]·[200x784]ᵀ", Transpose.No, Transpose.Yes, 5000, 200, 784),
        new("dG·Vᵀ [5000x200]·[200x200]ᵀ", Transpose.No, Transpose.Yes, 5000, 200, 200),
        new("dG·V0ᵀ [5000x200]·[50x200]ᵀ", Transpose.No, Transpose.Yes, 5000, 50, 200),
        new("Gᵀ·dO [5000x200]ᵀ·[5000x784]", Transpose.Yes, Transpose.No, 200, 784, 5000),
        new("Gᵀ·dG [5000x200]ᵀ·[5000x200]", Transpose.Yes, Transpose.No, 200, 200, 5000),
        new("Zᵀ·dG [5000x50]ᵀ·[5000x200]", Transpose.Yes, Transpose.No, 50, 200, 5000),
        new("Xᵀ·dH [100x784]ᵀ·[100x200]", Transpose.Yes, Transpose.No, 784, 200, 100),
        new("Aᵀ·Bᵀ [784x200]ᵀ·[5000x784]ᵀ", Transpose.Yes, Transpose.Yes, 200, 5000, 784),
    ];

    public static int Main(string[] args)
    {
        int threads = IntOption(args, "--threads", 2);
        int runs = IntOption(args, "--runs", 7);
        GemmVectorWidth width = Enum.Parse<GemmVectorWidth>(Option(args, "--width") ?? GemmBlocked.WidestAccelerated.ToString(), ignoreCase: true);
        string? only = Option(args, "--shape");
        s_cpuTime = args.Contains("--cpu-time");
        bool openBlas = OpenBlas.IsAvailable;

        Console.WriteLine($"threads={threads} runs={runs} clock={(s_cpuTime ? "process CPU time" : "wall")} " +
            $"managed width={width} openblas={(openBlas ? "libopenblas.so.0" : "absent")}");
        Console.WriteLine($"{"shape",-36} {"managed",9} {"openblas",9} {"ratio",6} " +
            $"{"best:",6} {"managed",8} {"openblas",9} {"ratio",6}   (GFLOP/s)");
        foreach (Shape shape in s_shapes)
        {
            if (only != null && !shape.Name.Contains(only, StringComparison.OrdinalIgnoreCase))
                continue;
            (double managed, double managedBest) = Measure(shape, GemmProvider.Managed, width, threads, runs);
            string blas = "-", ratio = "-", blasBest = "-", ratioBest = "-";
            if (openBlas)
            {
                (double blasRate, double blasRateBest) = Measure(shape, GemmProvider.OpenBlas, width, threads, runs);
                (blas, blasBest) = (blasRate.ToString("F1"), blasRateBest.ToString("F1"));
                (ratio, ratioBest) = ((managed / blasRate).ToString("F2"), (managedBest / blasRateBest).ToString("F2"));
            }

            Console.WriteLine($"{shape.Name,-36} {managed,9:F1} {blas,9} {ratio,6} {"",6} {managedBest,8:F1} {blasBest,9} {ratioBest,6}");
        }

        return 0;
    }

    /// <summary>
    /// Median and best GFLOP/s over <paramref name="runs"/> timed runs, each repeating the call for about 50 ms. On a
    /// busy machine the best run is the better estimate of what the code can do.
    /// </summary>
    private static (double Median, double Best) Measure(Shape shape, GemmProvider provider, GemmVectorWidth width, int threads, int runs)
    {
        (int aRows, int aCols) = shape.TransA == Transpose.No ? (shape.M, shape.K) : (shape.K, shape.M);
        (int bRows, int bCols) = shape.TransB == Transpose.No ? (shape.K, shape.N) : (shape.N, shape.K);
        float[] a = RandomMatrix(aRows * aCols, 1), b = RandomMatrix(bRows * bCols, 2), c = new float[shape.M * shape.N];
        void Call() => Gemm.Multiply(provider, width, shape.TransA, shape.TransB, shape.M, shape.N, shape.K, 1f,
            a, aCols, b, bCols, 0f, c, shape.N, threads);

        // Warm-up: lets tiered compilation reach the optimised kernel and sizes the repetitions.
        var watch = Stopwatch.StartNew();
        int calls = 0;
        while (watch.ElapsedMilliseconds < 300 || calls < 3)
        {
            Call();
            calls++;
        }

        int repetitions = Math.Max(1, (int)(calls * 50.0 / watch.ElapsedMilliseconds));
        double flops = 2.0 * shape.M * shape.N * shape.K * repetitions;
        var rates = new double[runs];
        using var process = Process.GetCurrentProcess();
        for (int run = 0; run < runs; run++)
        {
            process.Refresh();
            TimeSpan cpuStart = process.TotalProcessorTime;
            watch.Restart();
            for (int i = 0; i < repetitions; i++)
                Call();
            double wallSeconds = watch.Elapsed.TotalSeconds;
            process.Refresh();
            double seconds = s_cpuTime ? (process.TotalProcessorTime - cpuStart).TotalSeconds : wallSeconds;
            rates[run] = flops / seconds / 1e9;
        }

        Array.Sort(rates);
        return (rates[runs / 2], rates[^1]);
    }

    private static float[] RandomMatrix(int length, int seed)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < length; i++)
            values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    private static string? Option(string[] args, string name)
    {
        int index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    private static int IntOption(string[] args, string name, int fallback)
        => Option(args, name) is { } text ? int.Parse(text) : fallback;
}
