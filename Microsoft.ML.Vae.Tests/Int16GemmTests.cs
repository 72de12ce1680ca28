using System.Runtime.Intrinsics.X86;
using Microsoft.ML.Vae.Engine.Managed.Layers;
using Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

namespace Microsoft.ML.Vae.Tests;

[TestClass]
public sealed class Int16GemmTests
{
    /// <summary>(rows, outputs, inputs): single elements, odd input counts, partial tiles and slivers, several row blocks, the model's shapes, the largest int16 layer.</summary>
    private static readonly (int Rows, int Outputs, int Inputs)[] s_sizes =
    [
        (1, 1, 1), (7, 13, 5), (6, 32, 16), (31, 67, 29), (331, 97, 301), (250, 784, 200), (100, 200, 50), (5, 3, 2048),
    ];

    /// <summary>The widths the int16 kernel can run with here.</summary>
    private static IEnumerable<GemmVectorWidth> Widths()
    {
        if (Avx2.IsSupported) yield return GemmVectorWidth.Vector256;
        if (Int16Gemm.Width == GemmVectorWidth.Vector512) yield return GemmVectorWidth.Vector512;
    }

    [TestMethod]
    public void ProductIsWithinTheQuantisationBoundOfTheExactProduct()
    {
        if (!Widths().Any()) Assert.Inconclusive("The int16 kernel needs AVX2.");
        int seed = 0;
        foreach (var (m, n, k) in s_sizes)
        {
            float[] a = TestData.Normal(m * k, seed++), w = TestData.Normal(k * n, seed++);
            foreach (var width in Widths())
            {
                var weights = new Int16Weights(w, k, n, width);
                float[] c = Multiply(a, m, weights, threads: 1);
                // Each factor is off by at most half its step (max/level/2), so each product by |a|·δw + |w|·δa + δa·δw;
                // then the float result's own rounding.
                for (int r = 0; r < m; r++)
                {
                    double rowMax = a.AsSpan(r * k, k).ToArray().Max(Math.Abs), rowStep = rowMax / weights.Level / 2;
                    for (int j = 0; j < n; j++)
                    {
                        double columnStep = weights.ColumnScales[j] / 2, exact = 0, bound = 0, magnitude = 0;
                        for (int p = 0; p < k; p++)
                        {
                            double x = a[r * k + p], y = w[p * n + j];
                            exact += x * y;
                            magnitude += Math.Abs(x * y);
                            bound += Math.Abs(x) * columnStep + Math.Abs(y) * rowStep + rowStep * columnStep;
                        }
                        bound += 1e-6 * magnitude;
                        double error = Math.Abs(c[r * n + j] - exact);
                        Assert.IsTrue(error <= bound, $"{width} {m}x{n}x{k} C[{r},{j}] = {c[r * n + j]}, exact {exact}: error {error} over the bound {bound}");
                    }
                }
            }
        }
    }

    [TestMethod]
    public void WidthsAndThreadCountsGiveIdenticalResults()
    {
        if (!Widths().Any()) Assert.Inconclusive("The int16 kernel needs AVX2.");
        foreach (var (m, n, k) in s_sizes)
        {
            float[] a = TestData.Normal(m * k, 11), w = TestData.Normal(k * n, 12);
            float[]? expected = null;
            foreach (var width in Widths())
            {
                var weights = new Int16Weights(w, k, n, width);
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    float[] c = Multiply(a, m, weights, threads);
                    if (expected is null) expected = c;
                    else CollectionAssert.AreEqual(expected, c, $"{width}, {threads} threads, {m}x{n}x{k}");
                }
            }
        }
    }

    [TestMethod]
    public void SumsOfTheLargestValuesDoNotWrap()
    {
        if (!Widths().Any()) Assert.Inconclusive("The int16 kernel needs AVX2.");
        foreach (int k in new[] { 2048, 2047, 200 })
        {
            // Every value at the level (same sign): the largest sum the int32 accumulators must hold.
            int level = Int16Weights.LevelFor(k);
            long terms = (k + 1) / 2 * 2L;
            Assert.IsTrue(terms * level * level <= int.MaxValue, $"level {level} overflows for {k} inputs");
            Assert.IsTrue(level == short.MaxValue || terms * (level + 1L) * (level + 1L) > int.MaxValue, $"level {level} is not the largest for {k} inputs");
            float[] a = Enumerable.Repeat(-1.5f, 6 * k).ToArray(), w = Enumerable.Repeat(-2f, k * 40).ToArray();
            foreach (var width in Widths())
            {
                float[] c = Multiply(a, 6, new Int16Weights(w, k, 40, width), threads: 1);
                foreach (float value in c) Assert.AreEqual(3.0 * k, value, 3e-6 * k, $"{width}, {k} inputs");
            }
        }
    }

    [TestMethod]
    public void EpilogueGetsEveryRowOnceWithItsFinalValues()
    {
        const int m = 500, n = 784, k = 200;
        if (!Widths().Any()) Assert.Inconclusive("The int16 kernel needs AVX2.");
        float[] a = TestData.Normal(m * k, 21), w = TestData.Normal(k * n, 22), bias = TestData.Normal(n, 23);
        var weights = new Int16Weights(w, k, n, Widths().Last());
        float[] plain = Multiply(a, m, weights, threads: 2);
        var fused = new float[m * n];
        Int16Gemm.Multiply(a, m, weights, fused, threads: 2, new GemmBiasActivation(bias, Activation.Tanh));
        for (int r = 0; r < m; r++)
        {
            Activations.Apply(Activation.Tanh, plain.AsSpan(r * n, n), bias);
            CollectionAssert.AreEqual(plain.AsSpan(r * n, n).ToArray(), fused.AsSpan(r * n, n).ToArray(), $"row {r}");
        }
    }

    [TestMethod]
    public void ZeroRowsAndColumnsGiveZero()
    {
        if (!Widths().Any()) Assert.Inconclusive("The int16 kernel needs AVX2.");
        const int m = 13, n = 40, k = 9;
        float[] a = TestData.Normal(m * k, 31), w = TestData.Normal(k * n, 32);
        a.AsSpan(4 * k, k).Clear();
        for (int p = 0; p < k; p++) w[p * n + 7] = 0;
        float[] c = Multiply(a, m, new Int16Weights(w, k, n, Widths().Last()), threads: 1);
        for (int j = 0; j < n; j++) Assert.AreEqual(0f, c[4 * n + j]);
        for (int r = 0; r < m; r++) Assert.AreEqual(0f, c[r * n + 7]);
    }

    [TestMethod]
    public void LayersWithTooManyInputsAreRejected()
    {
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new Int16Weights(new float[2049], 2049, 1, GemmVectorWidth.Vector256));
        StringAssert.Contains(e.Message, "2048");
    }

    private static float[] Multiply(float[] a, int rows, Int16Weights weights, int threads)
    {
        var c = new float[rows * weights.Outputs];
        Int16Gemm.Multiply(a, rows, weights, c, threads, default(GemmNoEpilogue));
        return c;
    }
}
