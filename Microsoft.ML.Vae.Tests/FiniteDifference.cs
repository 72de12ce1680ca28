using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>Finite-difference checks and Monte Carlo averages of the managed engine's gradients, shared by the estimator tests.</summary>
internal static class FiniteDifference
{
    /// <summary>
    /// Asserts that the engine's gradient under <paramref name="objective"/> equals central differences of the loss
    /// −mean bound, where the bound is the one reported under <paramref name="differenced"/> (default: the same
    /// objective), for the tensors <paramref name="include"/> selects. Float32 throughout: step and tolerance sized for it.
    /// </summary>
    public static void AssertMatches(ParameterLayout layout, float[] parameters, FeatureMatrix x, float[] noise, int k,
        ObjectiveSettings objective, Func<ParameterTensor, bool>? include = null, ObjectiveSettings? differenced = null, int threads = 1)
    {
        int rows = x.Rows;
        using var backend = new ManagedBackend(layout, threads);
        backend.SetParameters(parameters);
        var gradient = new float[layout.Count];
        backend.Gradient(x.Values, rows, noise, k, objective, new float[rows], gradient);

        var lossObjective = differenced ?? objective;
        double Loss(float[] p)
        {
            backend.SetParameters(p);
            var bounds = new float[rows];
            backend.Gradient(x.Values, rows, noise, k, lossObjective, bounds, new float[layout.Count]);
            return -bounds.Select(v => (double)v).Average();
        }
        const float step = 2e-3f;
        double dot = 0, normA = 0, normB = 0;
        foreach (var tensor in layout.Tensors.Where(t => include?.Invoke(t) ?? true))
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

    /// <summary>Mean and standard error, per parameter, of a gradient estimate over <paramref name="draws"/> fresh noise draws.</summary>
    public static (double[] Mean, double[] StandardError) MonteCarlo(ParameterLayout layout, float[] parameters, FeatureMatrix x, int k,
        int draws, int seed, Func<float[], float[]> estimate)
    {
        var sum = new double[layout.Count];
        var sumOfSquares = new double[layout.Count];
        var noise = new float[x.Rows * k * layout.LatentSize];
        var random = new Mathematics.RandomSource(seed, 11);
        for (int n = 0; n < draws; n++)
        {
            random.FillLatentNoise(noise, layout.Latent);
            var g = estimate(noise);
            for (int i = 0; i < g.Length; i++) { sum[i] += g[i]; sumOfSquares[i] += (double)g[i] * g[i]; }
        }
        var mean = new double[layout.Count];
        var standardError = new double[layout.Count];
        for (int i = 0; i < mean.Length; i++)
        {
            mean[i] = sum[i] / draws;
            standardError[i] = Math.Sqrt(Math.Max(0, sumOfSquares[i] / draws - mean[i] * mean[i]) / draws);
        }
        return (mean, standardError);
    }

    /// <summary>One gradient of the loss under <paramref name="objective"/> for the given noise.</summary>
    public static float[] Gradient(ManagedBackend backend, FeatureMatrix x, float[] noise, int k, ObjectiveSettings objective)
    {
        var gradient = new float[backend.Layout.Count];
        backend.Gradient(x.Values, x.Rows, noise, k, objective, new float[x.Rows], gradient);
        return gradient;
    }
}
