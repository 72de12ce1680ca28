using Microsoft.ML.Vae.Engine.Managed.Likelihoods;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>The fused per-row likelihood kernels against a plain double-precision evaluation.</summary>
[TestClass]
public sealed class ObservationLikelihoodTests
{
    [TestMethod]
    [DataRow(37)]   // two 16-wide vectors and a scalar tail
    [DataRow(784)]
    [DataRow(3000)] // three products of up to 64 factors per lane before their logs
    public void BernoulliLogProbabilityAndGradientMatchTheDefinition(int features)
    {
        var layout = new ParameterLayout(new VaeModelOptions { HiddenSizes = [4], LatentSize = 2 }, features);
        var likelihood = new ObservationLikelihood(layout, new float[layout.Count]);
        var x = TestData.Clusters(1, features, seed: 1).Values;
        var logits = TestData.Normal(features, seed: 2).Select(v => 6 * v).ToArray(); // reaches |o| ≈ 20: saturated sigmoids
        logits[0] = 90; logits[1] = -90;                                              // exp overflows in a naive formula
        var gradient = new float[features];
        float logP = likelihood.LogProbability(x, logits, gradient, new float[features]);

        double expected = 0;
        for (int i = 0; i < features; i++)
        {
            double o = logits[i];
            double softplus = Math.Max(o, 0) + Math.Log(1 + Math.Exp(-Math.Abs(o)));
            expected += x[i] * o - softplus;
            Assert.AreEqual(x[i] - 1 / (1 + Math.Exp(-o)), gradient[i], 1e-6, $"gradient[{i}]");
        }
        Assert.AreEqual(expected, logP, 1e-5 * Math.Abs(expected));
        Assert.AreEqual(logP, likelihood.LogProbability(x, logits, Span<float>.Empty, new float[features]), "without the gradient");
    }

    [TestMethod]
    public void ZeroLogitsGiveTheLargestProductsAndStillMinusFeaturesLogTwo()
    {
        // o = 0 makes every factor 1 + e = 2, the largest: 64 of them per lane reach 2^64 before the log.
        const int features = 5000;
        var layout = new ParameterLayout(new VaeModelOptions { HiddenSizes = [4], LatentSize = 2 }, features);
        var likelihood = new ObservationLikelihood(layout, new float[layout.Count]);
        float logP = likelihood.LogProbability(TestData.Clusters(1, features, seed: 3).Values, new float[features], Span<float>.Empty, new float[features]);
        Assert.AreEqual(-features * Math.Log(2), logP, 1e-6 * features * Math.Log(2));
    }
}

[TestClass]
public sealed class VectorLogSpaceTests
{
    [TestMethod]
    public void ExpAndLog1PMatchDoublePrecisionOverTheirRanges()
    {
        var x = new float[16];
        double worstExp = 0, worstLog = 0;
        for (int step = 0; step < 20000; step++)
        {
            for (int i = 0; i < 16; i++) x[i] = -(step * 16 + i) * (100f / 320000);   // 0 .. −100
            var exp = Mathematics.VectorLogSpace.ExpNonPositive(System.Runtime.Intrinsics.Vector512.Create(x));
            for (int i = 0; i < 16; i++)
            {
                double expected = Math.Exp(x[i]);
                if (expected > 1e-37) worstExp = Math.Max(worstExp, Math.Abs(exp[i] - expected) / expected);
                else Assert.IsTrue(exp[i] >= 0 && exp[i] < 1e-37, $"exp({x[i]}) = {exp[i]}");
                float e = (float)expected;
                var log = Mathematics.VectorLogSpace.Log1PUnit(System.Runtime.Intrinsics.Vector512.Create(e));
                double expectedLog = e > 1e-8 ? Math.Log(1 + (double)e) : e - (double)e * e / 2;
                if (e > 1e-37) worstLog = Math.Max(worstLog, Math.Abs(log[0] - expectedLog) / expectedLog); // normal floats
            }
        }
        Assert.IsTrue(worstExp < 3e-7, $"exp relative error {worstExp}");
        Assert.IsTrue(worstLog < 3e-7, $"log(1+e) relative error {worstLog}");
    }
}
