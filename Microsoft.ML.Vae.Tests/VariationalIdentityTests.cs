using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Mathematics;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>
/// The identities behind the bounds, on models where every side is known in closed form; most use the
/// linear-Gaussian model (<see cref="LinearGaussianModel"/>), whose marginal p(x) and exact posterior are Gaussian.
/// </summary>
[TestClass]
public sealed class VariationalIdentityTests
{
    private const int Latent = LinearGaussianModel.Latent, Features = LinearGaussianModel.Features;

    [TestMethod]
    public void AtTheExactPosteriorEveryBoundIsTheLogLikelihood()
    {
        // log p(x) = ELBO + KL(q || p(z|x)) with KL = 0: w = p(x, z)/p(z|x) = p(x) for every z, so every objective's
        // bound equals log p(x) for every K and every draw.
        using var backend = new LinearGaussianModel(exactPosterior: true).CreateBackend();
        const int rows = 5;
        var x = LinearGaussianModel.Samples(rows, seed: 21);
        foreach (int k in new[] { 1, 2, 6 })
            foreach (var objective in new[]
            {
                new ObjectiveSettings(false),
                new ObjectiveSettings(false) { Objective = TrainingObjective.Miwae, Groups = k },
                new ObjectiveSettings(false) { Objective = TrainingObjective.Ciwae, CiwaeBeta = 0.3f },
            })
                for (int seed = 0; seed < 3; seed++)
                {
                    var noise = TestData.Normal(rows * k * Latent, seed: seed, stream: 100 + k);
                    var bounds = new float[rows];
                    backend.Gradient(x, rows, noise, k, objective, bounds, new float[backend.Layout.Count]);
                    for (int r = 0; r < rows; r++)
                    {
                        double expected = LinearGaussianModel.ExactLogLikelihood(x.AsSpan(r * Features, Features));
                        Assert.AreEqual(expected, bounds[r], 2e-4 + 1e-5 * Math.Abs(expected), $"row {r}, K {k}, {objective.Objective}");
                    }
                }
    }

    [TestMethod]
    public void TheElboFallsShortOfLogLikelihoodByTheKlToTheExactPosterior()
    {
        // E_q[log w] = log p(x) − KL(q || p(z|x)) for a q away from the posterior; the KL between the two diagonal
        // Gaussians (q from the mismatched encoder, p(z|x) from the exact one) in closed form. N draws, 4.5 standard errors.
        using var exact = new LinearGaussianModel(exactPosterior: true).CreateBackend();
        using var backend = new LinearGaussianModel(exactPosterior: false).CreateBackend();
        const int rows = 3, draws = 20000;
        var x = LinearGaussianModel.Samples(rows, seed: 22);
        var noise = TestData.Normal(rows * draws * Latent, seed: 9);
        var logWeights = new float[rows * draws];
        backend.LogWeights(x, rows, noise, draws, logWeights);
        var (qMean, qLogVariance) = Encode(backend, x, rows);
        var (pMean, pLogVariance) = Encode(exact, x, rows);
        for (int r = 0; r < rows; r++)
        {
            double kl = 0;
            for (int d = r * Latent; d < (r + 1) * Latent; d++)
            {
                double delta = qMean[d] - pMean[d];
                kl += 0.5 * (pLogVariance[d] - qLogVariance[d] + (Math.Exp(qLogVariance[d]) + delta * delta) / Math.Exp(pLogVariance[d]) - 1);
            }
            var row = logWeights.AsSpan(r * draws, draws).ToArray();
            double mean = row.Average(v => (double)v);
            double standardError = Math.Sqrt(row.Average(v => (v - mean) * (v - mean)) / draws);
            double expected = LinearGaussianModel.ExactLogLikelihood(x.AsSpan(r * Features, Features)) - kl;
            Assert.IsTrue(kl > 10 * standardError, $"row {r}: the KL gap {kl} must be resolvable at this number of draws");
            Assert.AreEqual(expected, mean, 4.5 * standardError + 1e-4, $"row {r}");
        }
    }

    [TestMethod]
    public void AtTheExactPosteriorThePathDerivativeEstimatorsHaveZeroVariance()
    {
        // With q = p(z|x), log p(x, z) − log q(z|x) is constant in z, so the path derivative (q's parameters held) is 0
        // for every draw (STL, and DReG for K > 1); the plain reparameterised gradient keeps the score term ∇_φ log q,
        // zero only on average.
        using var backend = new LinearGaussianModel(exactPosterior: true).CreateBackend();
        var layout = backend.Layout;
        const int rows = 4;
        var x = new FeatureMatrix(LinearGaussianModel.Samples(rows, seed: 23), rows, Features);
        var encoder = layout.Tensors.Where(t => t.Name.StartsWith("enc.")).SelectMany(t => Enumerable.Range(t.Offset, t.Length)).ToArray();
        foreach (var (estimator, k) in new[] { (GradientEstimator.StickingTheLanding, 1), (GradientEstimator.StickingTheLanding, 4), (GradientEstimator.DoublyReparameterized, 4) })
        {
            var objective = new ObjectiveSettings(false) { Estimator = estimator };
            var standard = new ObjectiveSettings(false);
            double standardSpread = 0;
            var first = new float[layout.Count];
            for (int draw = 0; draw < 20; draw++)
            {
                var noise = TestData.Normal(rows * k * Latent, seed: draw, stream: 200);
                var gradient = FiniteDifference.Gradient(backend, x, noise, k, objective);
                foreach (int i in encoder) Assert.AreEqual(0, gradient[i], 2e-5, $"{estimator}, K {k}, draw {draw}");
                var plain = FiniteDifference.Gradient(backend, x, noise, k, standard);
                if (draw == 0) plain.CopyTo(first);
                foreach (int i in encoder) standardSpread = Math.Max(standardSpread, Math.Abs(plain[i] - first[i]));
            }
            Assert.IsTrue(standardSpread > 0.05, $"the reparameterised encoder gradient should vary between draws (spread {standardSpread})");
        }
    }

    private static (float[] Mean, float[] LogVariance) Encode(ManagedBackend backend, float[] x, int rows)
    {
        var mean = new float[rows * Latent];
        var logVariance = new float[rows * Latent];
        backend.Encode(x, rows, mean, logVariance);
        return (mean, logVariance);
    }

    [TestMethod]
    public void TheTrainedDecoderMeanIsTheConditionalExpectation()
    {
        // X = ±1 with equal probability and a fixed encoder q(z|x) = N(x, s²): maximising E log p(x|z) over a Gaussian
        // decoder is least squares, whose optimum is E[X | Z = z] = tanh(z/s²).
        const float s2 = 0.5f;
        var options = new VaeModelOptions
        {
            HiddenSizes = [1], DecoderHiddenSizes = [16], LatentSize = 1, Activation = Activation.Tanh,
            Decoder = DecoderKind.Gaussian, DecoderVariance = 1,
        };
        var layout = new ParameterLayout(options, 1);
        var parameters = layout.Initialize(new RandomSource(3));
        void Set(string name, float value) => parameters[layout.Find(name).Offset] = value;
        // tanh(±1)/tanh(1) = ±1: the mean head returns x itself on this two-point data.
        Set("enc.0.W", 1); Set("enc.0.b", 0);
        Set("enc.mu.W", 1 / MathF.Tanh(1)); Set("enc.mu.b", 0);
        Set("enc.logvar.W", 0); Set("enc.logvar.b", MathF.Log(s2));
        const int rows = 200;
        var x = new FeatureMatrix(Enumerable.Range(0, rows).Select(i => i % 2 == 0 ? 1f : -1f).ToArray(), rows, 1);

        using var backend = new ManagedBackend(layout, threads: 1);
        var decoder = layout.Tensors.Where(t => t.Name.StartsWith("dec.")).ToArray();
        TrainSubset(backend, parameters, decoder, x, steps: 600, learningRate: 0.02f, new ObjectiveSettings(false));

        var z = Enumerable.Range(0, 25).Select(i => -1.2f + 0.1f * i).ToArray();
        var output = new float[z.Length];
        backend.Decode(z, z.Length, output);
        for (int i = 0; i < z.Length; i++)
            Assert.AreEqual(Math.Tanh(z[i] / s2), output[i], 0.08, $"z = {z[i]}");
    }

    /// <summary>Adam on the given tensors only (the rest held fixed), K = 1, fresh noise each step.</summary>
    internal static void TrainSubset(ManagedBackend backend, float[] parameters, ParameterTensor[] trained, FeatureMatrix x, int steps, float learningRate,
        ObjectiveSettings objective, float[]? fixedNoise = null)
    {
        var layout = backend.Layout;
        var adam = new AdamOptimizer(layout.Count);
        var random = new RandomSource(17, 5);
        var noise = fixedNoise ?? new float[x.Rows * layout.LatentSize];
        int k = noise.Length / (x.Rows * layout.LatentSize);
        var gradient = new float[layout.Count];
        var mask = new bool[layout.Count];
        foreach (var t in trained) mask.AsSpan(t.Offset, t.Length).Fill(true);
        for (int step = 1; step <= steps; step++)
        {
            if (fixedNoise is null) random.FillLatentNoise(noise, layout.Latent);
            backend.SetParameters(parameters);
            backend.Gradient(x.Values, x.Rows, noise, k, objective, new float[x.Rows], gradient);
            for (int i = 0; i < gradient.Length; i++) if (!mask[i]) gradient[i] = 0;
            adam.Step(parameters, gradient, new AdamSettings(learningRate, 0.9f, 0.999f, 1e-8f, step));
        }
        backend.SetParameters(parameters);
    }
}
