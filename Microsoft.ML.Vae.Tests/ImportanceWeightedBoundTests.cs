using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Tests;

/// <summary>The importance-weighted bound against the exact log-likelihood of the linear-Gaussian model.</summary>
[TestClass]
public sealed class ImportanceWeightedBoundTests
{
    [TestMethod]
    public void IwaeEstimateConvergesToExactLogLikelihoodAsKGrows()
    {
        var model = new LinearGaussianModel(exactPosterior: false).CreateModel();
        var x = LinearGaussianModel.Samples(8, seed: 1);
        var gaps = new List<double>();
        foreach (int k in new[] { 1, 10, 100, 5000 })
        {
            var estimate = new float[8];
            model.LogLikelihood(x, 8, estimate, k, seed: 3);
            double gap = 0;
            for (int r = 0; r < 8; r++) gap += LinearGaussianModel.ExactLogLikelihood(x.AsSpan(r * 3, 3)) - estimate[r];
            gaps.Add(gap / 8);
        }
        // The bound is below log p(x) on average and the gap shrinks with K.
        Assert.IsTrue(gaps[0] > 0.05, $"K=1 gap {gaps[0]} should be clearly positive for a mismatched q");
        for (int i = 1; i < gaps.Count; i++) Assert.IsTrue(gaps[i] < gaps[i - 1], $"gap did not shrink: {string.Join(", ", gaps)}");
        Assert.AreEqual(0, gaps[^1], 0.01, $"K=5000 estimate should be within 0.01 nats of log p(x): {string.Join(", ", gaps)}");
    }

    [TestMethod]
    public void WithTheExactPosteriorTheEstimateIsLogPxAtEveryK()
    {
        // Every log weight equals log p(x) up to float rounding ε, and a log-mean-exp of values within ε of log p(x) is
        // within ε of it. So the estimate must be exact to ε at every K: dividing by K+1 instead of K would be off by
        // log(1 + 1/K) (2e-4 at K = 5000), more than ε, which is measured here on the same rows.
        using var backend = new LinearGaussianModel(exactPosterior: true).CreateBackend();
        using var model = new LinearGaussianModel(exactPosterior: true).CreateModel();
        const int rows = 8, draws = 2000;
        var x = LinearGaussianModel.Samples(rows, seed: 1);
        var logWeights = new float[rows * draws];
        backend.LogWeights(x, rows, TestData.Normal(rows * draws * LinearGaussianModel.Latent, seed: 9), draws, logWeights);
        double epsilon = Enumerable.Range(0, rows * draws).Max(i => Math.Abs(logWeights[i] - LinearGaussianModel.ExactLogLikelihood(x.AsSpan(i / draws * 3, 3))));
        epsilon = Math.Max(2 * epsilon, 1e-6); // twice the largest error seen: the estimate's own draws may fall a little further out
        Assert.IsTrue(epsilon < Math.Log(1 + 1.0 / 5000), $"rounding error {epsilon} too large for the test to see log(K+1)");
        foreach (int k in new[] { 1, 7, 5000 })
        {
            var estimate = new float[rows];
            model.LogLikelihood(x, rows, estimate, k, seed: 3);
            for (int r = 0; r < rows; r++)
                Assert.AreEqual(LinearGaussianModel.ExactLogLikelihood(x.AsSpan(r * 3, 3)), estimate[r], epsilon, $"K={k}, row {r}");
        }
    }

    [TestMethod]
    public void ExactPosteriorMakesEveryLogWeightEqualLogLikelihood()
    {
        using var backend = new LinearGaussianModel(exactPosterior: true).CreateBackend();
        var x = LinearGaussianModel.Samples(4, seed: 2);
        const int k = 7;
        var noise = TestData.Normal(4 * k * LinearGaussianModel.Latent, seed: 5);
        var logWeights = new float[4 * k];
        backend.LogWeights(x, 4, noise, k, logWeights);
        for (int r = 0; r < 4; r++)
        {
            double exact = LinearGaussianModel.ExactLogLikelihood(x.AsSpan(r * 3, 3));
            for (int s = 0; s < k; s++) Assert.AreEqual(exact, logWeights[r * k + s], 1e-4, $"row {r} sample {s}");
        }
    }

    [TestMethod]
    public void BoundIsNonDecreasingInKOnAverageAndL1IsTheElbo()
    {
        using var backend = new LinearGaussianModel(exactPosterior: false).CreateBackend();
        var x = LinearGaussianModel.Samples(1, seed: 4);
        const int draws = 4000;
        var means = new List<(int K, double Mean, double StdError)>();
        foreach (int k in new[] { 1, 2, 5, 20 })
        {
            var noise = TestData.Normal(draws * k * LinearGaussianModel.Latent, seed: 6 + k);
            var replicated = Enumerable.Range(0, draws).SelectMany(_ => x).ToArray();
            var logWeights = new float[draws * k];
            backend.LogWeights(replicated, draws, noise, k, logWeights);
            var bounds = Enumerable.Range(0, draws).Select(i => LogSpace.LogMeanExp(logWeights.AsSpan(i * k, k))).ToArray();
            double mean = bounds.Average();
            double sd = Math.Sqrt(bounds.Select(v => (v - mean) * (v - mean)).Sum() / (draws - 1));
            means.Add((k, mean, sd / Math.Sqrt(draws)));
        }
        for (int i = 1; i < means.Count; i++)
            Assert.IsTrue(means[i].Mean > means[i - 1].Mean - 3 * (means[i].StdError + means[i - 1].StdError),
                $"E[L_{means[i].K}] = {means[i].Mean} < E[L_{means[i - 1].K}] = {means[i - 1].Mean}");
        Assert.IsTrue(means[^1].Mean > means[0].Mean + 3 * (means[^1].StdError + means[0].StdError), "L_20 should be clearly tighter than L_1");

        // L_1 is the ELBO: its mean matches the closed-form ELBO, and with AnalyticKl the engine computes the same bound.
        double elbo = ClosedFormElbo(backend, x);
        Assert.AreEqual(elbo, means[0].Mean, 4 * means[0].StdError, "mean of L_1 vs closed-form ELBO");
        var analytic = new float[draws];
        var replicatedRows = Enumerable.Range(0, draws).SelectMany(_ => x).ToArray();
        backend.Gradient(replicatedRows, draws, TestData.Normal(draws * LinearGaussianModel.Latent, seed: 40), 1,
            new ObjectiveSettings(AnalyticKl: true), analytic, new float[backend.Layout.Count]);
        double analyticMean = analytic.Average(v => (double)v);
        double analyticError = Math.Sqrt(analytic.Select(v => (v - analyticMean) * (v - analyticMean)).Sum() / (draws - 1) / draws);
        Assert.AreEqual(elbo, analyticMean, 4 * analyticError + 1e-4, "analytic-KL ELBO vs closed form");
    }

    /// <summary>E_q[log p(x|z)] − KL(q‖N(0,I)) for the linear-Gaussian model, from q's mean and variance.</summary>
    private static double ClosedFormElbo(Engine.Managed.ManagedBackend backend, float[] x)
    {
        const int d = LinearGaussianModel.Latent, f = LinearGaussianModel.Features;
        var mean = new float[d];
        var logVariance = new float[d];
        backend.Encode(x, 1, mean, logVariance);
        double kl = 0;
        for (int j = 0; j < d; j++) kl += 0.5 * (mean[j] * mean[j] + Math.Exp(logVariance[j]) - 1 - logVariance[j]);
        double expectedLogLikelihood = -0.5 * f * (Math.Log(2 * Math.PI) + Math.Log(LinearGaussianModel.NoiseVariance));
        for (int i = 0; i < f; i++)
        {
            double m = LinearGaussianModel.B[i], variance = 0;
            for (int j = 0; j < d; j++)
            {
                m += mean[j] * LinearGaussianModel.W[j, i];
                variance += Math.Exp(logVariance[j]) * LinearGaussianModel.W[j, i] * LinearGaussianModel.W[j, i];
            }
            expectedLogLikelihood -= 0.5 * ((x[i] - m) * (x[i] - m) + variance) / LinearGaussianModel.NoiseVariance;
        }
        return expectedLogLikelihood - kl;
    }
}
