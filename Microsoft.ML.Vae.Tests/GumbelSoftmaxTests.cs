using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Engine.Managed.Latents;
using Microsoft.ML.Vae.Mathematics;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>Categorical latents: Gumbel-max and Gumbel-Softmax samples, the relaxed gradient, and the discrete bound.</summary>
[TestClass]
public sealed class GumbelSoftmaxTests
{
    private static readonly float[] Probabilities = [0.1f, 0.2f, 0.3f, 0.4f];

    private static VaeModelOptions CategoricalOptions(int variables = 2, int categories = 3) => new()
    {
        HiddenSizes = [5],
        DecoderHiddenSizes = [4],
        LatentSize = variables,
        Latent = LatentKind.Categorical,
        CategoryCount = categories,
        Activation = Activation.Tanh,
    };

    [TestMethod]
    public void AsTheTemperatureFallsSampleFrequenciesMatchTheProbabilities()
    {
        // Hard samples are exact draws from π (Gumbel-max); the relaxed sample's mean tends to π as τ → 0 and to
        // the uniform vector as τ grows. N draws, tolerance 4.5 standard errors.
        const int draws = 40000;
        int c = Probabilities.Length;
        var logProbabilities = Probabilities.Select(p => MathF.Log(p)).ToArray();
        var uniforms = new float[c];
        var hard = new float[c];
        var relaxed = new float[c];
        var random = new RandomSource(1);
        foreach (var (temperature, matches) in new[] { (0.01f, true), (5f, false) })
        {
            var hardSum = new double[c];
            var relaxedSum = new double[c];
            for (int n = 0; n < draws; n++)
            {
                random.FillUniform(uniforms, 0, 1);
                GumbelSoftmax.Sample(logProbabilities, uniforms, c, temperature, hard, relaxed);
                for (int i = 0; i < c; i++) { hardSum[i] += hard[i]; relaxedSum[i] += relaxed[i]; }
            }
            for (int i = 0; i < c; i++)
            {
                double p = Probabilities[i], tolerance = 4.5 * Math.Sqrt(p * (1 - p) / draws);
                Assert.AreEqual(p, hardSum[i] / draws, tolerance, $"hard frequency of class {i}");
                if (matches) Assert.AreEqual(p, relaxedSum[i] / draws, tolerance + 1e-3, $"relaxed mean of class {i} at τ = {temperature}: {relaxedSum[i] / draws} vs hard {hardSum[i] / draws}");
            }
            if (!matches)
                Assert.IsTrue(Enumerable.Range(0, c).Max(i => Math.Abs(relaxedSum[i] / draws - Probabilities[i])) > 0.05, "at a high temperature the relaxed mean is flattened");
        }
    }

    [TestMethod]
    [DataRow(1, 0.7f)]
    [DataRow(3, 0.7f)]
    [DataRow(2, 2f)]
    public void RelaxedGradientMatchesFiniteDifferences(int k, float temperature)
    {
        // The relaxed ELBO mean_k log p(x | softmax((log π + g_k)/τ)) − KL(q || uniform) is differentiable for τ > 0.
        const int rows = 3;
        var x = TestData.Clusters(rows, 3, seed: 1);
        var layout = new ParameterLayout(CategoricalOptions(), x.Columns);
        var parameters = TestData.RandomParameters(layout, seed: 2);
        var noise = new float[rows * k * layout.LatentSize];
        new RandomSource(3).FillLatentNoise(noise, LatentKind.Categorical);
        FiniteDifference.AssertMatches(layout, parameters, x, noise, k, new ObjectiveSettings(AnalyticKl: true) { Temperature = temperature });
    }

    [TestMethod]
    public void StraightThroughFeedsHardSamplesAndPassesGradients()
    {
        const int rows = 3, k = 2;
        var x = TestData.Clusters(rows, 3, seed: 1);
        var layout = new ParameterLayout(CategoricalOptions(), x.Columns);
        using var backend = new ManagedBackend(layout, threads: 1);
        backend.SetParameters(TestData.RandomParameters(layout, seed: 2));
        var noise = new float[rows * k * layout.LatentSize];
        new RandomSource(3).FillLatentNoise(noise, LatentKind.Categorical);
        var straightThrough = new ObjectiveSettings(AnalyticKl: true) { Temperature = 0.5f, StraightThrough = true };
        var bounds = new float[rows];
        var gradient = new float[layout.Count];
        backend.Gradient(x.Values, rows, noise, k, straightThrough, bounds, gradient);

        // The hard-sample log weights carry log p(x|h) + log p(h) − log q(h|x); the straight-through bound is
        // mean_k log p(x|h_k) − KL, so the two differ by exactly the per-row KL and log-ratio terms: recompute it.
        var logWeights = new float[rows * k];
        backend.LogWeights(x.Values, rows, noise, k, logWeights);
        var mean = new float[rows * layout.LatentSize];
        backend.Encode(x.Values, rows, mean, new float[mean.Length]);
        for (int r = 0; r < rows; r++)
        {
            double kl = 0, logRatio = 0;
            for (int g = 0; g < layout.LatentVariables; g++)
                for (int i = 0; i < layout.CategoryCount; i++)
                {
                    double p = mean[r * layout.LatentSize + g * layout.CategoryCount + i];
                    kl += p * Math.Log(p * layout.CategoryCount);
                }
            for (int s = 0; s < k; s++)
            {
                var u = noise.AsSpan((r * k + s) * layout.LatentSize, layout.LatentSize).ToArray();
                for (int g = 0; g < layout.LatentVariables; g++)
                {
                    int best = Enumerable.Range(0, layout.CategoryCount).MaxBy(i =>
                        Math.Log(mean[r * layout.LatentSize + g * layout.CategoryCount + i]) - Math.Log(-Math.Log(u[g * layout.CategoryCount + i])));
                    logRatio += (-Math.Log(layout.CategoryCount) - Math.Log(mean[r * layout.LatentSize + g * layout.CategoryCount + best])) / k;
                }
            }
            double expected = logWeights.AsSpan(r * k, k).ToArray().Average(v => (double)v) - logRatio - kl;
            Assert.AreEqual(expected, bounds[r], 1e-3, $"row {r}");
        }
        var logits = layout.Find("enc.logits.W");
        Assert.IsTrue(gradient.AsSpan(logits.Offset, logits.Length).ToArray().Any(v => Math.Abs(v) > 1e-4), "no gradient reached the encoder");
    }

    [TestMethod]
    public void HardSampleWeightsGiveAnUnbiasedEstimateOfTheDiscreteLikelihood()
    {
        // E_q[p(x, h)/q(h|x)] = Σ_h p(x|h) p(h) = p(x), enumerated over all C^G one-hot h through the decoder, so
        // log mean w is a valid (stochastic lower) bound on log p(x) of the discrete model.
        const int rows = 2, draws = 20000;
        var x = TestData.Clusters(rows, 3, seed: 4);
        var layout = new ParameterLayout(CategoricalOptions(), x.Columns);
        using var backend = new ManagedBackend(layout, threads: 1);
        backend.SetParameters(TestData.RandomParameters(layout, seed: 5));
        int d = layout.LatentSize, c = layout.CategoryCount, states = c * c;
        var z = new float[states * d];
        for (int h = 0; h < states; h++) { z[h * d + h / c] = 1; z[h * d + c + h % c] = 1; }
        var probabilities = new float[states * x.Columns];
        backend.Decode(z, states, probabilities);

        var noise = new float[rows * draws * d];
        new RandomSource(6).FillLatentNoise(noise, LatentKind.Categorical);
        var logWeights = new float[rows * draws];
        backend.LogWeights(x.Values, rows, noise, draws, logWeights);
        for (int r = 0; r < rows; r++)
        {
            double px = 0;
            for (int h = 0; h < states; h++)
            {
                double likelihood = 1;
                for (int f = 0; f < x.Columns; f++)
                {
                    double p = probabilities[h * x.Columns + f], value = x.Values[r * x.Columns + f];
                    likelihood *= Math.Pow(p, value) * Math.Pow(1 - p, 1 - value);
                }
                px += likelihood / states;
            }
            var weights = logWeights.AsSpan(r * draws, draws).ToArray().Select(v => Math.Exp(v)).ToArray();
            double mean = weights.Average(), standardError = Math.Sqrt(weights.Average(w => (w - mean) * (w - mean)) / draws);
            Assert.AreEqual(px, mean, 4.5 * standardError + 1e-6 * px, $"row {r}: E[w] = p(x)");
            Assert.AreEqual(Math.Log(px), LogSpace.LogMeanExp(logWeights.AsSpan(r * draws, draws)), 0.02, $"row {r}: L_K for large K");
        }
    }

    [TestMethod]
    public void ScoreFunctionGradientOfTheDiscreteElboIsUnbiased()
    {
        // The exact ELBO Σ_h q(h|x)[log p(x|h) + log p(h) − log q(h|x)] by enumeration, differentiated by central
        // differences, against the mean of the score-function estimates (tolerance 4.5 standard errors + 2e-3).
        const int rows = 2, draws = 20000;
        var x = TestData.Clusters(rows, 3, seed: 4);
        var layout = new ParameterLayout(CategoricalOptions(variables: 1, categories: 3), x.Columns);
        var parameters = TestData.RandomParameters(layout, seed: 5);
        using var backend = new ManagedBackend(layout, threads: 1);
        var score = new ObjectiveSettings(false) { Estimator = GradientEstimator.ScoreFunction };
        backend.SetParameters(parameters);
        var (mean, standardError) = FiniteDifference.MonteCarlo(layout, parameters, x, 1, draws, seed: 7,
            noise => FiniteDifference.Gradient(backend, x, noise, 1, score));

        double ExactLoss(float[] p)
        {
            backend.SetParameters(p);
            int c = layout.CategoryCount;
            var probabilities = new float[rows * c];
            backend.Encode(x.Values, rows, probabilities, new float[probabilities.Length]);
            var z = new float[c * c];
            for (int h = 0; h < c; h++) z[h * c + h] = 1;
            var output = new float[c * x.Columns];
            backend.Decode(z, c, output);
            double elbo = 0;
            for (int r = 0; r < rows; r++)
                for (int h = 0; h < c; h++)
                {
                    double q = probabilities[r * c + h], logLikelihood = 0;
                    for (int f = 0; f < x.Columns; f++)
                    {
                        double o = output[h * x.Columns + f], value = x.Values[r * x.Columns + f];
                        logLikelihood += value * Math.Log(o) + (1 - value) * Math.Log(1 - o);
                    }
                    elbo += q * (logLikelihood - Math.Log(c) - Math.Log(q));
                }
            return -elbo / rows;
        }
        const float step = 1e-3f;
        for (int i = 0; i < layout.Count; i++)
        {
            var plus = (float[])parameters.Clone();
            var minus = (float[])parameters.Clone();
            plus[i] += step;
            minus[i] -= step;
            double exact = (ExactLoss(plus) - ExactLoss(minus)) / (2 * step);
            Assert.AreEqual(exact, mean[i], 4.5 * standardError[i] + 2e-3, $"parameter {i}");
        }
    }

    [TestMethod]
    public void CategoricalModelsTrainScoreAndSave()
    {
        var x = TestData.Clusters(40, 6, seed: 1);
        foreach (var trainerOptions in new[]
        {
            new VaeTrainerOptions { SampleCount = 1, AnalyticKl = true, Epochs = 3, BatchSize = 10, Threads = 1, ValidationFraction = 0.25 },
            new VaeTrainerOptions { SampleCount = 1, AnalyticKl = true, StraightThrough = true, Epochs = 3, BatchSize = 10, Threads = 1 },
            new VaeTrainerOptions { SampleCount = 4, GradientEstimator = GradientEstimator.ScoreFunction, Epochs = 3, BatchSize = 10, Threads = 1 },
        })
        {
            using var model = new VaeTrainer(CategoricalOptions(), trainerOptions).Fit(x);
            Assert.AreEqual(6, model.LatentSize, "2 variables of 3 classes");
            var logLikelihood = model.LogLikelihood(x, 50);
            Assert.IsTrue(logLikelihood.All(float.IsFinite));
            using var stream = new MemoryStream();
            model.Save(stream);
            stream.Position = 0;
            using var loaded = VaeModel.Load(stream);
            Assert.AreEqual(LatentKind.Categorical, loaded.Options.Latent);
            CollectionAssert.AreEqual(logLikelihood, loaded.LogLikelihood(x, 50));
        }
    }

    [TestMethod]
    public void CategoricalLatentsRejectEstimatorsThatNeedAGaussian()
    {
        var error = Assert.ThrowsExactly<ArgumentException>(() =>
            new VaeTrainer(CategoricalOptions(), new VaeTrainerOptions { SampleCount = 1, GradientEstimator = GradientEstimator.StickingTheLanding }));
        StringAssert.Contains(error.Message, "GradientEstimator");
        error = Assert.ThrowsExactly<ArgumentException>(() => new VaeTrainer(CategoricalOptions(), new VaeTrainerOptions { SampleCount = 5 }));
        StringAssert.Contains(error.Message, "AnalyticKl");
    }
}
