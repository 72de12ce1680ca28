using System.Runtime.Intrinsics;
using Microsoft.ML.Vae.Engine.Managed.Layers;
using Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

namespace Microsoft.ML.Vae.Tests;

[TestClass]
public sealed class GemmTests
{
    /// <summary>
    /// (m, n, k) covering single elements, primes, exact tiles, partial and narrow tiles, more than one row block
    /// (over 162 rows with a 1 MiB L2, 36 with 256 KiB) and more than one K block (over 800).
    /// </summary>
    private static readonly (int M, int N, int K)[] s_sizes =
    [
        (1, 1, 1), (1, 37, 5), (29, 1, 11), (6, 32, 16), (7, 13, 5), (12, 64, 1), (31, 67, 29), (67, 31, 257),
        (331, 97, 300), (5, 3, 1601), (13, 50, 853),
    ];

    private static readonly Transpose[] s_transposes = [Transpose.No, Transpose.Yes];

    /// <summary>Widths the managed kernel can run with here: scalar always, vectors when accelerated.</summary>
    private static IEnumerable<GemmVectorWidth> Widths()
    {
        yield return GemmVectorWidth.Scalar;
        if (Vector128.IsHardwareAccelerated)
            yield return GemmVectorWidth.Vector128;
        if (Vector256.IsHardwareAccelerated)
            yield return GemmVectorWidth.Vector256;
        if (Vector512.IsHardwareAccelerated)
            yield return GemmVectorWidth.Vector512;
    }

    [TestMethod]
    public void AllTransposesSizesAndWidthsMatchDoubleReference()
    {
        int seed = 0;
        foreach (Transpose transA in s_transposes)
        foreach (Transpose transB in s_transposes)
        foreach ((int m, int n, int k) in s_sizes)
        {
            var problem = new Problem(transA, transB, m, n, k, padding: 0, seed++);
            foreach (GemmVectorWidth width in Widths())
            {
                float[] c = problem.Run(GemmProvider.Managed, width, alpha: 1, beta: 0, threads: 1);
                problem.AssertMatchesReference(c, alpha: 1, beta: 0, $"{width}");
            }
        }
    }

    [TestMethod]
    public void LeadingDimensionsWiderThanRowsAreRespectedAndPaddingIsUntouched()
    {
        foreach (Transpose transA in s_transposes)
        foreach (Transpose transB in s_transposes)
        {
            var problem = new Problem(transA, transB, 23, 45, 19, padding: 5, seed: 7);
            float[] c = problem.Run(GemmProvider.Managed, GemmBlocked.WidestAccelerated, alpha: 1.5f, beta: 0.5f, threads: 2);
            problem.AssertMatchesReference(c, alpha: 1.5f, beta: 0.5f, "padded");
            for (int i = 0; i < problem.M; i++)
            {
                for (int j = problem.N; j < problem.Ldc; j++)
                    Assert.AreEqual(problem.InitialC[i * problem.Ldc + j], c[i * problem.Ldc + j], $"C padding ({i}, {j}) changed");
            }
        }
    }

    [TestMethod]
    public void AlphaAndBetaCombinationsMatchReference()
    {
        float[] alphas = [1, -0.5f, 2];
        float[] betas = [0, 1, 0.25f, -2];
        foreach (Transpose transA in s_transposes)
        foreach (Transpose transB in s_transposes)
        {
            var problem = new Problem(transA, transB, 41, 35, 1000, padding: 3, seed: 11);
            foreach (float alpha in alphas)
            foreach (float beta in betas)
            {
                float[] c = problem.Run(GemmProvider.Managed, GemmBlocked.WidestAccelerated, alpha, beta, threads: 1);
                problem.AssertMatchesReference(c, alpha, beta, $"alpha={alpha} beta={beta}");
            }
        }
    }

    [TestMethod]
    public void BetaZeroOverwritesNaNInC()
    {
        foreach (GemmVectorWidth width in Widths())
        {
            var problem = new Problem(Transpose.No, Transpose.No, 13, 37, 1000, padding: 0, seed: 3);
            Array.Fill(problem.InitialC, float.NaN);
            float[] c = problem.Run(GemmProvider.Managed, width, alpha: 1, beta: 0, threads: 1);
            problem.AssertMatchesReference(c, alpha: 1, beta: 0, $"{width}");
        }
    }

    [TestMethod]
    public void AlphaZeroOrEmptyKOnlyScalesC()
    {
        var problem = new Problem(Transpose.No, Transpose.Yes, 9, 10, 4, padding: 0, seed: 5);
        Array.Fill(problem.A, float.NaN);
        float[] c = problem.Run(GemmProvider.Managed, GemmBlocked.WidestAccelerated, alpha: 0, beta: 0.5f, threads: 1);
        for (int i = 0; i < c.Length; i++)
            Assert.AreEqual(0.5f * problem.InitialC[i], c[i], $"alpha = 0: element {i}");

        float[] cleared = problem.InitialC.ToArray();
        Gemm.Multiply(Transpose.No, Transpose.No, 9, 10, 0, 1, [], 1, [], 10, 0, cleared, 10, 1);
        Assert.IsTrue(cleared.All(v => v == 0), "k = 0 with beta = 0 must clear C");
    }

    [TestMethod]
    public void ThreadCountsGiveIdenticalResultsAndRepeatsAreBitIdentical()
    {
        // Split over rows (m >= n) and over columns (m < n), both large enough for 8 workers.
        foreach ((int m, int n, int k) in new[] { (301, 77, 400), (45, 419, 900) })
        foreach (Transpose transA in s_transposes)
        foreach (Transpose transB in s_transposes)
        {
            var problem = new Problem(transA, transB, m, n, k, padding: 0, seed: m + n);
            float[] single = problem.Run(GemmProvider.Managed, GemmBlocked.WidestAccelerated, 1, 0.5f, threads: 1);
            problem.AssertMatchesReference(single, 1, 0.5f, "threads=1");
            foreach (int threads in new[] { 2, 3, 8 })
            {
                float[] first = problem.Run(GemmProvider.Managed, GemmBlocked.WidestAccelerated, 1, 0.5f, threads);
                float[] second = problem.Run(GemmProvider.Managed, GemmBlocked.WidestAccelerated, 1, 0.5f, threads);
                CollectionAssert.AreEqual(first, second, $"threads={threads} not reproducible ({m}x{n}x{k})");
                CollectionAssert.AreEqual(single, first, $"threads={threads} differs from threads=1 ({m}x{n}x{k})");
            }
        }
    }

    [TestMethod]
    public void AllWidthsGiveBitIdenticalResults()
    {
        var problem = new Problem(Transpose.Yes, Transpose.No, 50, 70, 1650, padding: 2, seed: 13);
        float[] scalar = problem.Run(GemmProvider.Managed, GemmVectorWidth.Scalar, -0.75f, 0.25f, threads: 1);
        foreach (GemmVectorWidth width in Widths())
            CollectionAssert.AreEqual(scalar, problem.Run(GemmProvider.Managed, width, -0.75f, 0.25f, threads: 2), $"{width}");
    }

    [TestMethod]
    public void SingleThreadedCallsDoNotAllocateOnceWarm()
    {
        var problem = new Problem(Transpose.No, Transpose.Yes, 60, 70, 900, padding: 0, seed: 19);
        float[] c = problem.InitialC.ToArray();
        void Call() => Gemm.Multiply(GemmProvider.Managed, GemmBlocked.WidestAccelerated, problem.TransA, problem.TransB,
            problem.M, problem.N, problem.K, 1, problem.A, problem.Lda, problem.B, problem.Ldb, 0, c, problem.Ldc, 1);
        Call();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Call();
        Assert.AreEqual(0, GC.GetAllocatedBytesForCurrentThread() - before, "packing buffers must be reused between calls");
    }

    [TestMethod]
    public void OpenBlasAgreesWithManaged()
    {
        Assert.IsTrue(OpenBlas.IsAvailable, OpenBlas.InstallHint);
        foreach (Transpose transA in s_transposes)
        foreach (Transpose transB in s_transposes)
        foreach (int threads in new[] { 1, 2 })
        {
            var problem = new Problem(transA, transB, 97, 83, 301, padding: 4, seed: 17);
            Array.Fill(problem.InitialC, float.NaN);
            float[] blas = problem.Run(GemmProvider.OpenBlas, GemmBlocked.WidestAccelerated, 1.25f, 0, threads);
            problem.AssertMatchesReference(blas, 1.25f, 0, $"openblas threads={threads}");
            float[] managed = problem.Run(GemmProvider.Managed, GemmBlocked.WidestAccelerated, 1.25f, 0, threads);
            for (int i = 0; i < problem.M; i++)
            {
                for (int j = 0; j < problem.N; j++)
                {
                    int index = i * problem.Ldc + j;
                    Assert.AreEqual(managed[index], blas[index], 1e-4f * (1 + Math.Abs(managed[index])),
                        $"openblas vs managed at ({i}, {j}), {transA}/{transB}, threads={threads}");
                }
            }
        }
    }

    [TestMethod]
    public unsafe void PackingWritesExactlyItsDeclaredSize()
    {
        const float canary = -12345f;
        var random = new Random(23);
        float[] source = Enumerable.Range(0, 64 * 70).Select(_ => (float)random.NextDouble()).ToArray();
        foreach (Transpose transpose in s_transposes)
        foreach (int extent in new[] { 1, 5, 6, 7, 8, 16, 17, 32, 48, 64 })
        foreach (int columnsPerSliver in new[] { 2, 16, 32 })
        {
            const int kc = 9;
            int sizeB = GemmPacking.PackedSizeB(kc, extent, columnsPerSliver);
            float[] packedB = Enumerable.Repeat(canary, sizeB + 64).ToArray();
            fixed (float* b = source, target = packedB)
                GemmPacking.PackB(transpose, b, 70, 0, kc, 0, extent, columnsPerSliver, target);
            Assert.IsTrue(packedB.Take(sizeB).All(v => v != canary), $"PackB {transpose} nc={extent} left a gap");
            Assert.IsTrue(packedB.Skip(sizeB).All(v => v == canary), $"PackB {transpose} nc={extent} wrote past its size");

            int sizeA = GemmPacking.PackedSizeA(extent, kc);
            float[] packedA = Enumerable.Repeat(canary, sizeA + 64).ToArray();
            fixed (float* a = source, target = packedA)
                GemmPacking.PackA(transpose, a, 70, 0, extent, 0, kc, target);
            Assert.IsTrue(packedA.Take(sizeA).All(v => v != canary), $"PackA {transpose} mc={extent} left a gap");
            Assert.IsTrue(packedA.Skip(sizeA).All(v => v == canary), $"PackA {transpose} mc={extent} wrote past its size");
        }
    }

    [TestMethod]
    public void WorkersGrowWithTheWorkAndNeverExceedTheThreads()
    {
        long perWorker = GemmBlocked.MinWorkPerWorker;
        Assert.AreEqual(1, GemmBlocked.Workers(8, 8, 8, 16), "a tiny product runs on one thread");
        Assert.AreEqual(1, GemmBlocked.Workers(1, 1, (int)(2 * perWorker - 1), 16), "under two workers' share");
        Assert.AreEqual(2, GemmBlocked.Workers(1, 1, (int)(2 * perWorker), 16));
        Assert.AreEqual(2, GemmBlocked.Workers(1000, 1000, 1000, 2), "never more than the threads given");
        Assert.AreEqual(1, GemmBlocked.Workers(1000, 1000, 1000, 0), "no thread count means one");
        int previous = 1;
        for (int k = 1; k < 40; k++)
        {
            int workers = GemmBlocked.Workers(100, 200, k * 100, 16);
            Assert.IsTrue(workers >= previous && workers <= 16, $"k = {k * 100}: {workers} workers after {previous}");
            previous = workers;
        }

        Assert.AreEqual(16, previous, "a product of 16 workers' shares and more uses all 16");
    }

    [TestMethod]
    public void RowBlocksFillAtMostHalfTheL2()
    {
        Assert.IsTrue(GemmCache.L2Bytes >= 64 * 1024, $"L2 of {GemmCache.L2Bytes} bytes");
        foreach (int l2 in new[] { 1 << 20, 256 * 1024, 2 << 20, GemmCache.L2Bytes })
        {
            int rows = GemmBlocked.RowBlock(l2);
            Assert.AreEqual(0, rows % GemmMicroKernel.Rows, $"L2 {l2}: {rows} rows is not whole slivers");
            Assert.IsTrue(rows * (long)GemmBlocked.KcMax * sizeof(float) <= l2 / 2, $"L2 {l2}: {rows} rows of KcMax floats overflow half of it");
            Assert.IsTrue((rows + GemmMicroKernel.Rows) * (long)GemmBlocked.KcMax * sizeof(float) > l2 / 2, $"L2 {l2}: {rows} rows leave a sliver unused");
        }

        Assert.AreEqual(GemmMicroKernel.Rows, GemmBlocked.RowBlock(1024), "a tiny cache still gets one sliver");
    }

    [TestMethod]
    public void BiasActivationEpilogueIsBitIdenticalToSeparatePasses()
    {
        // Odd shapes: single rows and columns, partial tiles, narrow last slivers, more than one row block (> 144),
        // more than one K block (> 800), and a padded C; every activation; the row split on 1 and 3 threads.
        (int M, int N, int K, int Padding)[] shapes =
        [
            (1, 16, 3, 0), (17, 1, 5, 0), (7, 3, 9, 0), (29, 13, 31, 2), (331, 97, 300, 0), (13, 50, 853, 0),
            (200, 33, 70, 5), (45, 419, 120, 0), (9, 3, 7, 1),
        ];
        foreach ((int m, int n, int k, int padding) in shapes)
        foreach (Activation activation in Enum.GetValues<Activation>())
        foreach (int threads in new[] { 1, 3 })
        foreach (GemmVectorWidth width in Widths())
        {
            var problem = new Problem(Transpose.No, Transpose.No, m, n, k, padding, seed: m * n + k);
            var random = new Random(n);
            float[] bias = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            float[] fused = problem.InitialC.ToArray();
            Gemm.Multiply(GemmProvider.Managed, width, Transpose.No, Transpose.No, m, n, k, 1, problem.A, problem.Lda,
                problem.B, problem.Ldb, 0, fused, problem.Ldc, threads, new GemmBiasActivation(bias, activation));

            float[] separate = problem.Run(GemmProvider.Managed, width, alpha: 1, beta: 0, threads);
            AddBiasThenActivate(separate, m, n, problem.Ldc, bias, activation);
            CollectionAssert.AreEqual(separate, fused, $"{m}x{n}x{k} ldc={problem.Ldc} {activation} threads={threads} {width}");
        }
    }

    [TestMethod]
    public void BiasActivationEpilogueRunsWithOpenBlasAndWithoutAProduct()
    {
        Assert.IsTrue(OpenBlas.IsAvailable, OpenBlas.InstallHint);
        const int m = 37, n = 45;
        var random = new Random(31);
        float[] bias = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        foreach ((GemmProvider provider, int k, float alpha, float beta) in new[]
        {
            (GemmProvider.OpenBlas, 301, 1f, 0f), (GemmProvider.Managed, 0, 1f, 0.5f), (GemmProvider.OpenBlas, 20, 0f, 2f),
        })
        {
            var problem = new Problem(Transpose.No, Transpose.No, m, n, k, padding: 2, seed: k);
            float[] fused = problem.InitialC.ToArray();
            Gemm.Multiply(provider, GemmBlocked.WidestAccelerated, Transpose.No, Transpose.No, m, n, k, alpha,
                problem.A, problem.Lda, problem.B, problem.Ldb, beta, fused, problem.Ldc, 2,
                new GemmBiasActivation(bias, Activation.Tanh));

            float[] separate = problem.Run(provider, GemmBlocked.WidestAccelerated, alpha, beta, threads: 2);
            AddBiasThenActivate(separate, m, n, problem.Ldc, bias, Activation.Tanh);
            CollectionAssert.AreEqual(separate, fused, $"{provider} k={k} alpha={alpha} beta={beta}");
        }
    }

    [TestMethod]
    public void EpilogueSeesEachRowOnOneThreadInColumnOrderAfterItsFinalValue()
    {
        // m < n (a plain product would split columns), n > 2048 (more than one column block per row), k > 800
        // (more than one K block), and enough work for 4 workers.
        const int m = 61, n = 2100, k = 850;
        var problem = new Problem(Transpose.No, Transpose.Yes, m, n, k, padding: 3, seed: 29);
        float[] expected = problem.Run(GemmProvider.Managed, GemmBlocked.WidestAccelerated, alpha: 0.5f, beta: 2, threads: 1);
        var probe = new RowProbe(expected, m, problem.Ldc);
        float[] c = problem.InitialC.ToArray();
        Gemm.Multiply(GemmProvider.Managed, GemmBlocked.WidestAccelerated, problem.TransA, problem.TransB, m, n, k, 0.5f,
            problem.A, problem.Lda, problem.B, problem.Ldb, 2, c, problem.Ldc, threads: 4, probe);

        Assert.AreEqual(0, probe.Errors[0], "the epilogue saw a value that was not the final one");
        for (int i = 0; i < m; i++)
        {
            Assert.AreEqual(n, probe.NextColumn[i], $"row {i}: columns not covered once each in increasing order");
            double sum = 0;
            for (int j = 0; j < n; j++)
                sum += expected[i * problem.Ldc + j];
            Assert.AreEqual(sum, probe.RowSums[i], 1e-3 * (1 + Math.Abs(sum)), $"row {i}: per-row sum");
        }

        CollectionAssert.AreEqual(expected, c, "the epilogue must not change C");
    }

    /// <summary>
    /// Accumulates a per-row sum without locking (as a log-likelihood over the output columns would) and records,
    /// per row, the thread and the next column it expects, so a row shared between threads or visited out of order
    /// shows up deterministically.
    /// </summary>
    private readonly struct RowProbe(float[] expected, int rows, int ldc) : IGemmEpilogue
    {
        public double[] RowSums { get; } = new double[rows];
        public int[] NextColumn { get; } = new int[rows];
        public int[] Errors { get; } = new int[1];
        private int[] Threads { get; } = Enumerable.Repeat(-1, rows).ToArray();

        public void Apply(int rowStart, int rowCount, int columnStart, int columnCount, Span<float> block, int ldcOfBlock)
        {
            int thread = Environment.CurrentManagedThreadId;
            for (int i = 0; i < rowCount; i++)
            {
                int row = rowStart + i;
                if (Threads[row] != -1 && Threads[row] != thread || NextColumn[row] != columnStart || ldcOfBlock != ldc)
                    Interlocked.Increment(ref Errors[0]);
                Threads[row] = thread;
                NextColumn[row] = columnStart + columnCount;
                for (int j = 0; j < columnCount; j++)
                {
                    float value = block[i * ldcOfBlock + j];
                    if (value != expected[row * ldc + columnStart + j])
                        Interlocked.Increment(ref Errors[0]);
                    RowSums[row] += value;
                }
            }
        }
    }

    /// <summary>The engine's unfused dense-layer passes: bias added per row, then the activation over all rows at once.</summary>
    private static void AddBiasThenActivate(float[] c, int m, int n, int ldc, float[] bias, Activation activation)
    {
        float[] rows = new float[m * n];
        for (int i = 0; i < m; i++)
        {
            Span<float> row = rows.AsSpan(i * n, n);
            c.AsSpan(i * ldc, n).CopyTo(row);
            System.Numerics.Tensors.TensorPrimitives.Add(row, bias, row);
        }

        Activations.Apply(activation, rows);
        for (int i = 0; i < m; i++)
            rows.AsSpan(i * n, n).CopyTo(c.AsSpan(i * ldc, n));
    }

    [TestMethod]
    public void ProviderIsParsedFromEnvironmentValue()
    {
        Assert.AreEqual(GemmProvider.Managed, Gemm.ParseProvider(null));
        Assert.AreEqual(GemmProvider.Managed, Gemm.ParseProvider(" Managed "));
        Assert.AreEqual(GemmProvider.OpenBlas, Gemm.ParseProvider("OPENBLAS"));
        Assert.AreEqual(GemmProvider.Auto, Gemm.ParseProvider("auto"));
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => Gemm.ParseProvider("mkl"));
        StringAssert.Contains(error.Message, Gemm.ProviderVariable);
    }

    [TestMethod]
    public void OperandsThatDoNotFitAreRejected()
    {
        float[] a = new float[6], b = new float[6], c = new float[4];
        var lda = Assert.ThrowsExactly<ArgumentOutOfRangeException>(
            () => Gemm.Multiply(Transpose.No, Transpose.No, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2, 1));
        Assert.AreEqual("lda", lda.ParamName);
        var shortB = Assert.ThrowsExactly<ArgumentException>(
            () => Gemm.Multiply(Transpose.No, Transpose.Yes, 2, 2, 3, 1, a, 3, b, 4, 0, c, 2, 1));
        Assert.AreEqual("b", shortB.ParamName);
        var shortC = Assert.ThrowsExactly<ArgumentException>(
            () => Gemm.Multiply(Transpose.No, Transpose.No, 2, 2, 3, 1, a, 3, b, 2, 0, c, 3, 1));
        Assert.AreEqual("c", shortC.ParamName);
    }

    /// <summary>Random operands of one product, stored with optional padding beyond each row.</summary>
    private sealed class Problem
    {
        public Problem(Transpose transA, Transpose transB, int m, int n, int k, int padding, int seed)
        {
            (TransA, TransB, M, N, K) = (transA, transB, m, n, k);
            var random = new Random(seed);
            (int aRows, int aCols) = transA == Transpose.No ? (m, k) : (k, m);
            (int bRows, int bCols) = transB == Transpose.No ? (k, n) : (n, k);
            (Lda, Ldb, Ldc) = (aCols + padding, bCols + padding, n + padding);
            A = RandomValues(random, aRows * Lda);
            B = RandomValues(random, bRows * Ldb);
            InitialC = RandomValues(random, m * Ldc);
        }

        public Transpose TransA { get; }
        public Transpose TransB { get; }
        public int M { get; }
        public int N { get; }
        public int K { get; }
        public int Lda { get; }
        public int Ldb { get; }
        public int Ldc { get; }
        public float[] A { get; }
        public float[] B { get; }
        public float[] InitialC { get; }

        public float[] Run(GemmProvider provider, GemmVectorWidth width, float alpha, float beta, int threads)
        {
            float[] c = InitialC.ToArray();
            Gemm.Multiply(provider, width, TransA, TransB, M, N, K, alpha, A, Lda, B, Ldb, beta, c, Ldc, threads);
            return c;
        }

        /// <summary>
        /// Compares with a double-precision product; the tolerance is the float rounding bound of a length-k sum,
        /// (k + 2)·2⁻²³ times the sum of the magnitudes of the terms.
        /// </summary>
        public void AssertMatchesReference(float[] c, float alpha, float beta, string what)
        {
            for (int i = 0; i < M; i++)
            {
                for (int j = 0; j < N; j++)
                {
                    double sum = 0, magnitude = 0;
                    for (int p = 0; p < K; p++)
                    {
                        double term = (double)ElementA(i, p) * ElementB(p, j);
                        sum += term;
                        magnitude += Math.Abs(term);
                    }

                    double initial = beta == 0 ? 0 : beta * (double)InitialC[i * Ldc + j];
                    double expected = alpha * sum + initial;
                    double tolerance = (K + 2) * Math.Pow(2, -23) * (Math.Abs(alpha) * magnitude + Math.Abs(initial)) + 1e-30;
                    double actual = c[i * Ldc + j];
                    Assert.IsTrue(Math.Abs(actual - expected) <= tolerance,
                        $"{what}: {TransA}/{TransB} {M}x{N}x{K} C({i}, {j}) = {actual}, expected {expected} ± {tolerance}");
                }
            }
        }

        private float ElementA(int i, int p) => TransA == Transpose.No ? A[i * Lda + p] : A[p * Lda + i];

        private float ElementB(int p, int j) => TransB == Transpose.No ? B[p * Ldb + j] : B[j * Ldb + p];

        private static float[] RandomValues(Random random, int length)
        {
            var values = new float[length];
            for (int i = 0; i < length; i++)
                values[i] = (float)(random.NextDouble() * 2 - 1);
            return values;
        }
    }
}
