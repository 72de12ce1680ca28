using System.Diagnostics;
using Microsoft.ML.Vae.Engine.Managed.Layers;
using Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

namespace Microsoft.ML.Vae.Benchmarks;

/// <summary>
/// GFLOP/s of the managed SGEMM against the measured FMA peak and OpenBLAS on the shapes of the 784-200-200-50 IWAE
/// (batch 100, K = 50).
/// Usage: GemmBench [--threads N] [--runs N] [--width scalar|vector128|vector256|vector512] [--shape NAME] [--cpu-time]
/// [--no-openblas] [--scaling] [--epilogue] [--elementwise] [--int16]
/// --scaling times small and mid-sized products on exactly 1 and 2 workers (wall clock), the measurement behind
/// GemmBlocked.MinWorkPerWorker. --epilogue times the dense layer's bias + tanh fused into the product
/// (GemmBiasActivation) against the product followed by the engine's separate passes. --elementwise times the per-element
/// kernels (ElementwiseBench). --int16 times the decoder's products with ScoringPrecision.Int16's kernel against float32.
/// With --cpu-time the rates are per second of process CPU time (per busy core) rather than of wall-clock time,
/// which is steadier when other processes share the cores. The peak (eng/bench/Shared/PeakFlops.cs) is probed with the
/// same thread count and clock just before each shape, so the ratio to it compares numbers taken under the same load.
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
        bool openBlas = OpenBlas.IsAvailable && !args.Contains("--no-openblas");
        if (args.Contains("--scaling"))
        {
            MeasureScaling(width, runs);
            return 0;
        }

        if (args.Contains("--elementwise"))
        {
            ElementwiseBench.Run(runs);
            return 0;
        }

        if (args.Contains("--int16"))
        {
            MeasureInt16(threads, runs);
            return 0;
        }

        if (args.Contains("--epilogue"))
        {
            MeasureEpilogue(threads, runs);
            return 0;
        }

        Console.WriteLine($"threads={threads} runs={runs} clock={(s_cpuTime ? "process CPU time" : "wall")} " +
            $"managed width={width} openblas={(openBlas ? "libopenblas.so.0" : "not run")} " +
            $"L2={GemmCache.L2Bytes / 1024} KiB row block={GemmBlocked.RowBlock(GemmCache.L2Bytes)}");
        Console.WriteLine($"{"shape",-36} {"managed",9} {"openblas",9} {"ratio",6} " +
            $"{"best:",6} {"managed",8} {"openblas",9} {"ratio",6} {"peak",7} {"of peak",8}   (GFLOP/s; of peak: median, best)");
        foreach (Shape shape in s_shapes)
        {
            if (only != null && !shape.Name.Contains(only, StringComparison.OrdinalIgnoreCase))
                continue;
            double peak = PeakFlops.Measure(threads, seconds: 0.1, s_cpuTime) / 1e9;
            (double managed, double managedBest) = Measure(shape, GemmProvider.Managed, width, threads, runs);
            string blas = "-", ratio = "-", blasBest = "-", ratioBest = "-";
            if (openBlas)
            {
                (double blasRate, double blasRateBest) = Measure(shape, GemmProvider.OpenBlas, width, threads, runs);
                (blas, blasBest) = (blasRate.ToString("F1"), blasRateBest.ToString("F1"));
                (ratio, ratioBest) = ((managed / blasRate).ToString("F2"), (managedBest / blasRateBest).ToString("F2"));
            }

            Console.WriteLine($"{shape.Name,-36} {managed,9:F1} {blas,9} {ratio,6} {"",6} {managedBest,8:F1} {blasBest,9} {ratioBest,6} " +
                $"{peak,7:F1} {managed / peak,4:P0} {managedBest / peak,4:P0}");
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

        return (Median(rates), rates[^1]);
    }

    /// <summary>Cubes and the batch-100, K = 1 shapes of the model, from 32 K to 17 M multiply-adds.</summary>
    private static readonly Shape[] s_scalingShapes =
    [
        new("32³", Transpose.No, Transpose.No, 32, 32, 32),
        new("48³", Transpose.No, Transpose.No, 48, 48, 48),
        new("64³", Transpose.No, Transpose.No, 64, 64, 64),
        new("80³", Transpose.No, Transpose.No, 80, 80, 80),
        new("96³", Transpose.No, Transpose.No, 96, 96, 96),
        new("128³", Transpose.No, Transpose.No, 128, 128, 128),
        new("160³", Transpose.No, Transpose.No, 160, 160, 160),
        new("256³", Transpose.No, Transpose.No, 256, 256, 256),
        new("[100x50]·[50x200]", Transpose.No, Transpose.No, 100, 200, 50),
        new("[100x200]·[200x100]", Transpose.No, Transpose.No, 100, 100, 200),
        new("[100x200]·[200x200]", Transpose.No, Transpose.No, 100, 200, 200),
        new("[100x200]ᵀ·[100x200]", Transpose.Yes, Transpose.No, 200, 200, 100),
        new("[100x200]·[200x784]", Transpose.No, Transpose.No, 100, 784, 200),
        new("[100x784]·[784x200]", Transpose.No, Transpose.No, 100, 200, 784),
    ];

    /// <summary>
    /// Median and best µs per call on exactly 1 and 2 workers (wall clock), interleaved so both see the same load; on
    /// a shared machine the best run is the one where both cores were free.
    /// </summary>
    private static unsafe void MeasureScaling(GemmVectorWidth width, int runs)
    {
        Console.WriteLine($"exactly 1 and 2 workers, wall clock, median of {runs} runs, width={width}");
        Console.WriteLine($"{"shape",-24} {"mult-adds",10} {"1 worker µs",12} {"2 workers µs",13} {"speed-up",9} " +
            $"{"best: 1",8} {"2",7} {"speed-up",9}");
        foreach (Shape shape in s_scalingShapes)
        {
            (int aRows, int aCols) = shape.TransA == Transpose.No ? (shape.M, shape.K) : (shape.K, shape.M);
            (int bRows, int bCols) = shape.TransB == Transpose.No ? (shape.K, shape.N) : (shape.N, shape.K);
            float[] a = RandomMatrix(aRows * aCols, 1), b = RandomMatrix(bRows * bCols, 2), c = new float[shape.M * shape.N];
            double[][] times = [new double[runs], new double[runs]];
            fixed (float* pa = a, pb = b, pc = c)
            {
                int repetitions = Math.Max(1, (int)(2e7 / ((double)shape.M * shape.N * shape.K)));
                for (int run = -2; run < runs; run++)
                {
                    for (int workers = 1; workers <= 2; workers++)
                    {
                        var watch = Stopwatch.StartNew();
                        for (int i = 0; i < repetitions; i++)
                        {
                            GemmBlocked.Multiply(width, shape.TransA, shape.TransB, shape.M, shape.N, shape.K, 1f,
                                pa, aCols, pb, bCols, 0f, pc, shape.N, workers, default(GemmNoEpilogue));
                        }
                        if (run >= 0)
                            times[workers - 1][run] = watch.Elapsed.TotalMicroseconds / repetitions;
                    }
                }
            }

            double one = Median(times[0]), two = Median(times[1]), bestOne = times[0].Min(), bestTwo = times[1].Min();
            Console.WriteLine($"{shape.Name,-24} {(long)shape.M * shape.N * shape.K,10} {one,12:F1} {two,13:F1} {one / two,9:F2} " +
                $"{bestOne,8:F1} {bestTwo,7:F1} {bestOne / bestTwo,9:F2}");
        }
    }

    /// <summary>Median ms per call of y = tanh(x·W + b), fused and as separate passes, alternating so both see the same load.</summary>
    private static void MeasureEpilogue(int threads, int runs)
    {
        Console.WriteLine($"bias + tanh: fused epilogue against separate passes, threads={threads}, median of {runs} runs, " +
            $"clock={(s_cpuTime ? "process CPU time" : "wall")}");
        Console.WriteLine($"{"shape",-36} {"separate ms",12} {"fused ms",9} {"saved",6}");
        foreach (Shape shape in s_shapes.Where(s => s.TransA == Transpose.No && s.TransB == Transpose.No && s.M == 5000))
        {
            float[] a = RandomMatrix(shape.M * shape.K, 1), b = RandomMatrix(shape.K * shape.N, 2);
            float[] bias = RandomMatrix(shape.N, 3), c = new float[shape.M * shape.N];
            void Separate()
            {
                Gemm.Multiply(shape.TransA, shape.TransB, shape.M, shape.N, shape.K, 1f, a, shape.K, b, shape.N, 0f, c, shape.N, threads);
                for (int i = 0; i < shape.M; i++)
                {
                    Span<float> row = c.AsSpan(i * shape.N, shape.N);
                    System.Numerics.Tensors.TensorPrimitives.Add(row, bias, row);
                }

                Activations.Apply(Activation.Tanh, c);
            }

            void Fused() => Gemm.Multiply(shape.TransA, shape.TransB, shape.M, shape.N, shape.K, 1f, a, shape.K, b,
                shape.N, 0f, c, shape.N, threads, new GemmBiasActivation(bias, Activation.Tanh));

            double[] medians = AlternatingMedians(runs, Separate, Fused);
            double separate = medians[0], fused = medians[1];
            Console.WriteLine($"{shape.Name,-36} {separate,12:F2} {fused,9:F2} {1 - fused / separate,6:P0}");
        }
    }

    /// <summary>
    /// The decoder's products of a scoring pass (5000 sample rows) in float32 (with its bias-and-tanh epilogue) and with
    /// ScoringPrecision.Int16's kernel (rows quantised on the fly, weights once beforehand, as the engine does).
    /// </summary>
    private static void MeasureInt16(int threads, int runs)
    {
        Console.WriteLine($"int16 against float32 products (bias + tanh epilogue), threads={threads}, width={Int16Gemm.Width}, " +
            $"median of {runs} runs, clock={(s_cpuTime ? "process CPU time" : "wall")}");
        Console.WriteLine($"{"shape",-32} {"float32 ms",10} {"int16 ms",9} {"GFLOP/s",8} {"GOP/s",7} {"ratio",6}");
        foreach (Shape shape in s_shapes.Where(s => s.Name.StartsWith("G·Wout") || s.Name.StartsWith("G·V ") || s.Name.StartsWith("Z·V0")))
        {
            float[] a = RandomMatrix(shape.M * shape.K, 1), b = RandomMatrix(shape.K * shape.N, 2);
            float[] bias = RandomMatrix(shape.N, 3), c = new float[shape.M * shape.N];
            var epilogue = new GemmBiasActivation(bias, Activation.Tanh);
            var weights = new Int16Weights(b, shape.K, shape.N, Int16Gemm.Width);
            double[] medians = AlternatingMedians(runs,
                () => Gemm.Multiply(Transpose.No, Transpose.No, shape.M, shape.N, shape.K, 1f, a, shape.K, b, shape.N, 0f, c, shape.N, threads, epilogue),
                () => Int16Gemm.Multiply(a, shape.M, weights, c, threads, epilogue));
            double operations = 2.0 * shape.M * shape.N * shape.K;
            Console.WriteLine($"{shape.Name,-32} {medians[0],10:F2} {medians[1],9:F2} {operations / medians[0] / 1e6,8:F1} " +
                $"{operations / medians[1] / 1e6,7:F1} {medians[0] / medians[1],6:F2}");
        }
    }

    /// <summary>Median ms per call of each variant, timed in turn (5 calls per timing, 2 untimed rounds first), so all see the same load.</summary>
    private static double[] AlternatingMedians(int runs, params Action[] variants)
    {
        var times = variants.Select(_ => new double[runs]).ToArray();
        using var process = Process.GetCurrentProcess();
        for (int run = -2; run < runs; run++)
        {
            for (int variant = 0; variant < variants.Length; variant++)
            {
                process.Refresh();
                TimeSpan cpuStart = process.TotalProcessorTime;
                var watch = Stopwatch.StartNew();
                for (int i = 0; i < 5; i++)
                    variants[variant]();
                process.Refresh();
                double ms = (s_cpuTime ? (process.TotalProcessorTime - cpuStart).TotalMilliseconds : watch.Elapsed.TotalMilliseconds) / 5;
                if (run >= 0)
                    times[variant][run] = ms;
            }
        }

        return times.Select(Median).ToArray();
    }

    private static double Median(double[] values)
    {
        Array.Sort(values);
        return values[values.Length / 2];
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
