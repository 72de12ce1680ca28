using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>Finite-difference checks of every differentiable piece of the managed engine.</summary>
[TestClass]
public sealed class GradientTests
{
    public static IEnumerable<object[]> Cases()
    {
        foreach (var activation in new[] { Activation.Tanh, Activation.Relu, Activation.Softplus, Activation.Identity })
            foreach (var (decoder, learn) in new[] { (DecoderKind.Bernoulli, false), (DecoderKind.Gaussian, false), (DecoderKind.Gaussian, true) })
                foreach (int k in new[] { 1, 4 })
                    yield return [activation, decoder, learn, k, false];
        yield return [Activation.Tanh, DecoderKind.Bernoulli, false, 1, true];
        yield return [Activation.Softplus, DecoderKind.Gaussian, true, 1, true];
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void AnalyticGradientMatchesFiniteDifferences(Activation activation, DecoderKind decoder, bool learnVariance, int k, bool analyticKl)
    {
        var options = TestData.SmallOptions(decoder, activation, learnVariance);
        const int rows = 3;
        var x = TestData.Clusters(rows, 7, seed: 1);
        var layout = new ParameterLayout(options, x.Columns);
        var parameters = TestData.RandomParameters(layout, seed: 2);
        var noise = TestData.Normal(rows * k * layout.LatentSize, seed: 3);
        var objective = new ObjectiveSettings(analyticKl);
        using var backend = new ManagedBackend(layout, threads: 2);

        backend.SetParameters(parameters);
        var gradient = new float[layout.Count];
        var bounds = new float[rows];
        backend.Gradient(x.Values, rows, noise, k, objective, bounds, gradient);

        // Central differences of the loss −mean L_K, in float32: step and tolerance sized for that precision.
        double Loss(float[] p)
        {
            backend.SetParameters(p);
            var b = new float[rows];
            backend.Gradient(x.Values, rows, noise, k, objective, b, new float[layout.Count]);
            return -b.Select(v => (double)v).Average();
        }
        const float step = 2e-3f;
        double dot = 0, normA = 0, normB = 0;
        foreach (var tensor in layout.Tensors)
        {
            for (int i = tensor.Offset; i < tensor.Offset + tensor.Length; i++)
            {
                var plus = (float[])parameters.Clone();
                var minus = (float[])parameters.Clone();
                plus[i] += step;
                minus[i] -= step;
                double numeric = (Loss(plus) - Loss(minus)) / (2 * step);
                dot += numeric * gradient[i];
                normA += numeric * numeric;
                normB += (double)gradient[i] * gradient[i];
                Assert.AreEqual(numeric, gradient[i], 2e-3 + 0.03 * Math.Abs(numeric), $"{tensor.Name}[{i - tensor.Offset}]");
            }
        }
        Assert.IsTrue(normB > 0, "the gradient is all zeros");
        Assert.IsTrue(dot / Math.Sqrt(normA * normB) > 0.9999, $"cosine {dot / Math.Sqrt(normA * normB)}");
    }
}
