using System.Runtime.Intrinsics;
using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Tests;

/// <summary>The engine's own float vector functions against double precision over their ranges.</summary>
[TestClass]
public sealed class VectorFunctionTests
{
    [TestMethod]
    public void ExpIsWithinThreeUlpOverTheFloatRange()
    {
        double worst = Worst(-87f, 88.7f, 3_000_000, x => VectorLogSpace.Exp(x), Math.Exp);
        Assert.IsTrue(worst <= 3, $"exp error {worst:F2} ulp");
        var edges = VectorLogSpace.Exp(Vector512.Create([89f, 1000f, float.PositiveInfinity, float.NaN, -200f, float.NegativeInfinity, 88.72f, 0f,
            -0f, 1f, -1f, 10f, -10f, 50f, -50f, 88f]));
        Assert.IsTrue(float.IsPositiveInfinity(edges[0]) && float.IsPositiveInfinity(edges[1]) && float.IsPositiveInfinity(edges[2]), "overflow gives +inf");
        Assert.IsTrue(float.IsNaN(edges[3]), "NaN stays NaN");
        Assert.IsTrue(edges[4] >= 0 && edges[4] < 1.3e-38f && edges[5] >= 0 && edges[5] < 1.3e-38f, "underflow flushes to (about) zero");
        Assert.AreEqual(Math.Exp(88.72f), edges[6], 3e-7 * Math.Exp(88.72f), "the top of the range needs 2^128 in two halves");
        Assert.AreEqual(1f, edges[7]);
        Assert.AreEqual(1f, edges[8]);
    }

    [TestMethod]
    public void ExpNonPositiveIsTheSameFunctionBelowZero()
    {
        var x = new float[16];
        for (int step = 0; step < 4000; step++)
        {
            for (int i = 0; i < 16; i++) x[i] = -(step * 16 + i) * (87f / 64000);
            var v = Vector512.Create(x);
            Assert.AreEqual(VectorLogSpace.Exp(v), VectorLogSpace.ExpNonPositive(v), $"at {x[0]}");
        }
    }

    [TestMethod]
    public void LogIsWithinThreeUlpOverPositiveNormalFloats()
    {
        // From the smallest uniform the noise takes (2^−24) past 1, and far out on both sides.
        double worst = Worst(5.96e-8f, 1f, 2_000_000, VectorLogSpace.Log, Math.Log);
        worst = Math.Max(worst, Worst(1f, 1e30f, 1_000_000, VectorLogSpace.Log, Math.Log));
        worst = Math.Max(worst, Worst(1.2e-38f, 1e-5f, 1_000_000, VectorLogSpace.Log, Math.Log));
        Assert.IsTrue(worst <= 3, $"log error {worst:F2} ulp");  // 2.45 measured
        Assert.AreEqual(0f, VectorLogSpace.Log(Vector512<float>.One)[0]);
    }

    [TestMethod]
    public void SinCosPiIsWithinTwoUlpOnTheNoiseAnglesAndKeepsTheQuadrants()
    {
        var lanes = new float[16];
        double worst = 0;
        for (int step = 0; step < 200_000; step++)
        {
            for (int i = 0; i < 16; i++) lanes[i] = (step * 16 + i) * (2f / 3_200_000) - (step % 7 == 0 ? 2f : 0f);  // [0, 2) and some negatives
            var (sin, cos) = VectorSinCos.SinCosPi(Vector512.Create(lanes));
            for (int i = 0; i < 16; i++)
            {
                double angle = Math.PI * lanes[i];
                worst = Math.Max(worst, Math.Max(Ulps(sin[i], Math.Sin(angle)), Ulps(cos[i], Math.Cos(angle))));
            }
        }
        Assert.IsTrue(worst <= 2, $"sincos error {worst:F2} ulp");
        var (s, c) = VectorSinCos.SinCosPi(Vector512.Create([0f, 0.5f, 1f, 1.5f, -0.5f, 0.25f, 0.75f, 1.25f, 1.75f, 2f, -1f, 0.125f, 3f, 0.5f, 1f, 0f]));
        float[] expectedSin = [0, 1, 0, -1, -1, MathF.Sqrt(0.5f), MathF.Sqrt(0.5f), -MathF.Sqrt(0.5f), -MathF.Sqrt(0.5f), 0, 0, (float)Math.Sin(Math.PI / 8), 0, 1, 0, 0];
        for (int i = 0; i < 16; i++)
        {
            Assert.AreEqual(expectedSin[i], s[i], 1e-7f, $"sin, lane {i}");
            Assert.AreEqual(Math.Cos(Math.PI * new float[] { 0f, 0.5f, 1f, 1.5f, -0.5f, 0.25f, 0.75f, 1.25f, 1.75f, 2f, -1f, 0.125f, 3f, 0.5f, 1f, 0f }[i]), c[i], 1e-7, $"cos, lane {i}");
        }
    }

    /// <summary>Largest error in ulps of the float result over <paramref name="count"/> points spread geometrically or evenly over [from, to].</summary>
    private static double Worst(float from, float to, int count, Func<Vector512<float>, Vector512<float>> function, Func<double, double> exact)
    {
        bool geometric = from > 0 && to / from > 100;
        var lanes = new float[16];
        double worst = 0;
        for (int start = 0; start < count; start += 16)
        {
            for (int i = 0; i < 16; i++)
            {
                double f = (double)(start + i) / count;
                lanes[i] = (float)(geometric ? from * Math.Pow(to / from, f) : from + (to - from) * f);
            }
            var y = function(Vector512.Create(lanes));
            for (int i = 0; i < 16; i++) worst = Math.Max(worst, Ulps(y[i], exact(lanes[i])));
        }
        return worst;
    }

    /// <summary>
    /// |value − exact| in units of the last place of the float nearest to exact. A double reference below 1e-12 is a
    /// true zero that double's π missed (sin π): the float result must then be below it too.
    /// </summary>
    private static double Ulps(float value, double exact)
    {
        if (Math.Abs(exact) < 1e-12) return Math.Abs(value) < 1e-12 ? 0 : double.PositiveInfinity;
        float rounded = (float)Math.Abs(exact);
        return Math.Abs(value - exact) / (MathF.BitIncrement(rounded) - rounded);
    }
}
