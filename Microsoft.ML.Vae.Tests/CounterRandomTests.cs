using Microsoft.ML.Vae.Engine.LibTorch;
using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Tests;

/// <summary>
/// The counter-based generator of the device loop: the managed and the native implementation draw the same numbers,
/// and the numbers have the moments and the independence they should. The native comparisons need the shim
/// (eng/build-native.sh), as the other libtorch tests do.
/// </summary>
[TestClass]
public sealed class CounterRandomTests
{
    public static IEnumerable<object[]> Keys()
    {
        yield return [0, 0L, 0L, 0L];
        yield return [7, 4L, 123L, 0L];
        yield return [-5, 3L, 1L << 40, 1000L];
        yield return [int.MaxValue, long.MaxValue, -1L, (1L << 32) - 10];   // element indices across the 2^32 boundary
        yield return [12345, 2L, 17L, 3L << 33];
    }

    [TestMethod]
    [DynamicData(nameof(Keys))]
    public void NativeDrawsEqualManagedDraws(int seed, long stream, long counter, long firstIndex)
    {
        const int count = 4099;
        var library = LibTorchLibrary.Shared;
        var random = new CounterRandom(seed, stream, counter);
        var bits = new uint[count];
        library.RandomBits(seed, stream, counter, firstIndex, bits);
        var uniform = new float[count];
        library.RandomUniform(seed, stream, counter, firstIndex, uniform);
        var normal = new float[count];
        library.RandomNormal(seed, stream, counter, firstIndex, normal);
        for (int i = 0; i < count; i++)
        {
            Assert.AreEqual(random.Bits(firstIndex + i), bits[i], $"bits of element {firstIndex + i}");
            Assert.AreEqual(random.Uniform(firstIndex + i), uniform[i], $"uniform of element {firstIndex + i}");
            // log, sqrt and cos may differ in the last bit between libtorch's vector kernels and the C runtime.
            float expected = random.Normal(firstIndex + i);
            Assert.AreEqual(expected, normal[i], 4e-7f * Math.Max(1f, Math.Abs(expected)), $"normal of element {firstIndex + i}");
        }
    }

    [TestMethod]
    [DataRow(1, 2L, 1L, 1)]
    [DataRow(3, 2L, 9L, 1000)]
    [DataRow(-8, 2L, 2L, 60001)]
    public void NativePermutationEqualsManagedPermutation(int seed, long stream, long epoch, int rows)
    {
        var order = new long[rows];
        LibTorchLibrary.Shared.RandomPermutation(seed, stream, epoch, order);
        var expected = new CounterRandom(seed, stream, epoch).Permutation(rows);
        CollectionAssert.AreEqual(expected.Select(r => (long)r).ToArray(), order);
        CollectionAssert.AreEquivalent(Enumerable.Range(0, rows).ToArray(), expected, "a permutation of the rows");
    }

    [TestMethod]
    public void PermutationsDifferBetweenEpochsAndLookUniform()
    {
        const int rows = 10, trials = 20000;
        var firstPlace = new int[rows];
        for (int epoch = 0; epoch < trials; epoch++) firstPlace[new CounterRandom(4, 2, epoch).Permutation(rows)[0]]++;
        // Each row comes first in about a tenth of the epochs (binomial standard deviation 42).
        foreach (int count in firstPlace) Assert.AreEqual(trials / rows, count, 200);
        CollectionAssert.AreNotEqual(new CounterRandom(4, 2, 1).Permutation(100), new CounterRandom(4, 2, 2).Permutation(100));
    }

    [TestMethod]
    public void BinarisationSetsOneExactlyWhenTheUniformLiesBelowTheProbability()
    {
        var random = new CounterRandom(6, 3, 2);
        var uniforms = Enumerable.Range(0, 1000).Select(i => random.Uniform(100 + i)).ToArray();
        var target = new float[uniforms.Length];
        random.FillBernoulli(uniforms, target, firstIndex: 100);
        Assert.IsTrue(target.All(t => t == 0), "u < u never holds");
        random.FillBernoulli(uniforms.Select(u => MathF.BitIncrement(u)).ToArray(), target, firstIndex: 100);
        Assert.IsTrue(target.All(t => t == 1), "u < u + 1 ulp always holds");
    }

    [TestMethod]
    public void UniformsAndNormalsHaveTheirMoments()
    {
        const int n = 400_000;
        var random = new CounterRandom(11, 4, 5);
        var u = Enumerable.Range(0, n).Select(i => (double)random.Uniform(i)).ToArray();
        Assert.IsTrue(u.All(v => v is >= 0 and < 1), "uniforms lie in [0, 1)");
        Assert.AreEqual(0.5, u.Average(), 0.002);
        Assert.AreEqual(1.0 / 12, u.Select(v => (v - 0.5) * (v - 0.5)).Average(), 0.001);
        var z = Enumerable.Range(0, n).Select(i => (double)random.Normal(i)).ToArray();
        Assert.IsTrue(z.All(double.IsFinite));
        Assert.AreEqual(0, z.Average(), 0.007);
        Assert.AreEqual(1, z.Select(v => v * v).Average(), 0.01);
        Assert.AreEqual(0, z.Select(v => v * v * v).Average(), 0.03);
        Assert.AreEqual(3, z.Select(v => v * v * v * v).Average(), 0.06);
        // The tails: P(|z| > 2) = 0.0455.
        Assert.AreEqual(0.0455, z.Count(v => Math.Abs(v) > 2) / (double)n, 0.0015);
    }

    [TestMethod]
    [DataRow(1, 4L, 1L, 1, 4L, 2L, 0L)]        // neighbouring steps
    [DataRow(1, 3L, 7L, 1, 4L, 7L, 0L)]        // neighbouring streams
    [DataRow(1, 4L, 7L, 2, 4L, 7L, 0L)]        // neighbouring seeds
    [DataRow(1, 4L, 7L, 1, 4L, 7L, 1L)]        // neighbouring elements of one key
    public void DrawsOfNeighbouringKeysAreUncorrelated(int seedA, long streamA, long counterA, int seedB, long streamB, long counterB, long offset)
    {
        const int n = 200_000;
        var a = new CounterRandom(seedA, streamA, counterA);
        var b = new CounterRandom(seedB, streamB, counterB);
        double sum = 0, sumSquaresA = 0, sumSquaresB = 0;
        int equalBits = 0;
        for (int i = 0; i < n; i++)
        {
            double x = a.Normal(i), y = b.Normal(i + offset);
            sum += x * y;
            sumSquaresA += x * x;
            sumSquaresB += y * y;
            if (a.Bits(i) == b.Bits(i + offset)) equalBits++;
        }
        // The sample correlation of independent draws has standard deviation 1/sqrt(n) = 0.0022.
        Assert.AreEqual(0, sum / Math.Sqrt(sumSquaresA * sumSquaresB), 0.01);
        Assert.IsTrue(equalBits < 3, $"{equalBits} equal 32-bit draws");
    }
}
