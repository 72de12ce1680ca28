using System.Runtime.Intrinsics;
using Microsoft.ML.Vae.Engine.Managed.Layers;
using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Tests;

[TestClass]
public sealed class ActivationsTests
{
    private static readonly Activation[] s_activations = Enum.GetValues<Activation>();

    [TestMethod]
    public void VectorTanhIsWithinThreeUlpOfDoublePrecision()
    {
        // Every 61st float in [−12, 12] (plus both sides of the switch at ½), about 3.5 million points: the series below
        // ½ is exact to 5e-10 and adds two roundings; above, exp (2e-7) and a division add about two ulp (2.27 measured, just above ½).
        var inputs = new List<float> { 0.5f, MathF.BitDecrement(0.5f), -0.5f, MathF.BitIncrement(-0.5f), 1e-30f, -1e-30f, 1e-45f };
        for (float x = 12f; x > 1e-6f; x = BitDecrement(x, 61))
        {
            inputs.Add(x);
            inputs.Add(-x);
        }

        double worst = 0;
        float worstAt = 0;
        var lanes = new float[16];
        for (int start = 0; start < inputs.Count; start += 16)
        {
            int count = Math.Min(16, inputs.Count - start);
            inputs.CopyTo(start, lanes, 0, count);
            var y = VectorTanh.Evaluate(Vector512.Create(lanes));
            for (int i = 0; i < count; i++)
            {
                double exact = Math.Tanh(lanes[i]);
                float rounded = (float)exact;
                double ulp = MathF.BitIncrement(MathF.Abs(rounded)) - MathF.Abs(rounded);
                double error = Math.Abs(y[i] - exact) / ulp;
                if (error > worst) (worst, worstAt) = (error, lanes[i]);
            }
        }

        Assert.IsTrue(worst <= 3, $"tanh error {worst:F2} ulp at {worstAt:R}");
    }

    [TestMethod]
    public void VectorTanhKeepsSignsLimitsAndNaN()
    {
        var y = VectorTanh.Evaluate(Vector512.Create([0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 40f, -40f, 1e-45f,
            -1e-45f, 9f, -9f, float.MaxValue, float.MinValue, 0.25f, -3f, 100f]));
        Assert.IsTrue(y[0] == 0 && !float.IsNegative(y[0]), "tanh(+0) = +0");
        Assert.IsTrue(y[1] == 0 && float.IsNegative(y[1]), "tanh(−0) = −0");
        Assert.AreEqual(1f, y[2]);
        Assert.AreEqual(-1f, y[3]);
        Assert.IsTrue(float.IsNaN(y[4]), "NaN must stay NaN so that a diverged layer is detected");
        Assert.AreEqual(1f, y[5]);
        Assert.AreEqual(-1f, y[6]);
        Assert.AreEqual(1e-45f, y[7]);
        Assert.AreEqual(-1e-45f, y[8]);
        Assert.AreEqual(1f, y[11]);
        Assert.AreEqual(-1f, y[12]);
        Assert.AreEqual((float)Math.Tanh(-3), y[14], 4e-7f);
    }

    [TestMethod]
    public void EachElementGetsTheSameValueAnywhereInASpan()
    {
        // Lengths below, at and above one vector, and ragged ends: the result of an element must not depend on its
        // position (the fused GEMM epilogue and the separate pass split spans differently).
        var random = new Random(5);
        foreach (Activation activation in s_activations)
        foreach (int length in new[] { 1, 7, 15, 16, 17, 31, 33, 200, 784 })
        {
            float[] input = Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 12 - 6)).ToArray();
            float[] bias = Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            float[] whole = input.ToArray();
            Activations.Apply(activation, whole, bias);
            for (int i = 0; i < length; i++)
            {
                float[] single = [input[i]];
                Activations.Apply(activation, single, bias.AsSpan(i, 1));
                Assert.AreEqual(single[0], whole[i], $"{activation}, length {length}, element {i}");
            }

            float[] gradient = Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            float[] wholeGradient = gradient.ToArray();
            Activations.MultiplyByDerivative(activation, whole, wholeGradient);
            for (int i = 0; i < length; i++)
            {
                float[] single = [gradient[i]];
                Activations.MultiplyByDerivative(activation, whole.AsSpan(i, 1), single);
                Assert.AreEqual(single[0], wholeGradient[i], $"{activation} derivative, length {length}, element {i}");
            }
        }
    }

    [TestMethod]
    public void ValuesAndDerivativesMatchTheirDefinitions()
    {
        float[] pre = Enumerable.Range(0, 101).Select(i => -10 + i * 0.2f).ToArray();
        foreach (Activation activation in s_activations)
        {
            float[] y = pre.ToArray();
            Activations.Apply(activation, y);
            float[] gradient = Enumerable.Repeat(1f, pre.Length).ToArray();
            Activations.MultiplyByDerivative(activation, y, gradient);
            for (int i = 0; i < pre.Length; i++)
            {
                double x = pre[i];
                (double value, double slope) = activation switch
                {
                    Activation.Tanh => (Math.Tanh(x), 1 - Math.Tanh(x) * Math.Tanh(x)),
                    Activation.Relu => (Math.Max(x, 0), x > 0 ? 1 : 0),
                    Activation.Softplus => (Math.Log(1 + Math.Exp(x)), 1 / (1 + Math.Exp(-x))),
                    _ => (x, 1),
                };
                Assert.AreEqual(value, y[i], 3e-7 * Math.Max(1, Math.Abs(value)), $"{activation}({x})");
                // The derivative is computed from the float output: its error is the output's, amplified by f''/f'.
                Assert.AreEqual(slope, gradient[i], 2e-6, $"{activation}'({x})");
            }
        }
    }

    [TestMethod]
    public void MismatchedLengthsAreRejected()
    {
        Assert.ThrowsExactly<ArgumentException>(() => Activations.Apply(Activation.Tanh, new float[20], new float[19]));
        Assert.ThrowsExactly<ArgumentException>(() => Activations.MultiplyByDerivative(Activation.Tanh, new float[20], new float[21]));
    }

    private static float BitDecrement(float x, int steps)
        => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(x) - steps);
}
