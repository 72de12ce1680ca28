using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Mathematics;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>
/// The identities behind the bounds, on models where every side is known in closed form. The linear-Gaussian model:
/// p(z) = N(0, I), p(x|z) = N(z·W + b, σ²I) (row vectors), so p(x) = N(b, WᵀW + σ²I); with orthogonal rows of W the
/// exact posterior N((x − b)Wᵀ diag(1/(σ² + s²)), diag(σ²/(σ² + s²))), s_d² = |W_d|², is what the linear encoder
/// below computes.
/// </summary>
[TestClass]
public sealed class VariationalIdentityTests
{
    private const int Features = 4, Latent = 2;
    private const float NoiseVariance = 0.5f;
    private static readonly double[,] W = { { 0.5, 1.0, -0.5, 0.25 }, { 1.0, -0.5, 0, 0 } }; // orthogonal rows
    private static readonly double[] B = [0.1, -0.2, 0.3, 0];

    private static ParameterLayout LinearGaussianLayout() => new(new VaeModelOptions
    {
        HiddenSizes = [Features],
        DecoderHiddenSizes = [Latent],
        LatentSize = Latent,
        Activation = Activation.Identity,
        Decoder = DecoderKind.Gaussian,
        DecoderVariance = NoiseVariance,
    }, Features);

    private static double RowNormSquared(int d) => Enumerable.Range(0, Features).Sum(f => W[d, f] * W[d, f]);

    /// <summary>The model's parameters with the encoder at the exact posterior, its mean and log-variance shifted by the given amounts.</summary>
    private static float[] LinearGaussianParameters(ParameterLayout layout, double[]? meanShift = null, double[]? logVarianceShift = null)
    {
        var p = new float[layout.Count];
        void Set(string name, int row, int column, double value) { var t = layout.Find(name); p[t.Offset + row * t.Columns + column] = (float)value; }
        for (int f = 0; f < Features; f++) Set("enc.0.W", f, f, 1);
        for (int d = 0; d < Latent; d++)
        {
            double scale = 1 / (NoiseVariance + RowNormSquared(d));
            double bias = 0;
            for (int f = 0; f < Features; f++) { Set("enc.mu.W", f, d, W[d, f] * scale); bias -= B[f] * W[d, f] * scale; }
            Set("enc.mu.b", 0, d, bias + (meanShift?[d] ?? 0));
            Set("enc.logvar.b", 0, d, Math.Log(NoiseVariance * scale) + (logVarianceShift?[d] ?? 0));
            Set("dec.0.W", d, d, 1);
            for (int f = 0; f < Features; f++) Set("dec.out.W", d, f, W[d, f]);
        }
        for (int f = 0; f < Features; f++) Set("dec.out.b", 0, f, B[f]);
        return p;
    }

    /// <summary>log N(x; b, WᵀW + σ²I) through a Cholesky factorisation, in double.</summary>
    private static double LogMarginal(ReadOnlySpan<float> x)
    {
        var c = new double[Features, Features];
        for (int i = 0; i < Features; i++)
            for (int j = 0; j < Features; j++)
            {
                for (int d = 0; d < Latent; d++) c[i, j] += W[d, i] * W[d, j];
                if (i == j) c[i, j] += NoiseVariance;
            }
        var l = new double[Features, Features];
        double logDeterminant = 0;
        for (int i = 0; i < Features; i++)
            for (int j = 0; j <= i; j++)
            {
                double sum = c[i, j];
                for (int m = 0; m < j; m++) sum -= l[i, m] * l[j, m];
                if (i == j) { l[i, i] = Math.Sqrt(sum); logDeterminant += 2 * Math.Log(l[i, i]); }
                else l[i, j] = sum / l[j, j];
            }
        var y = new double[Features]; // L y = x − b
        double quadratic = 0;
        for (int i = 0; i < Features; i++)
        {
            double sum = x[i] - B[i];
            for (int m = 0; m < i; m++) sum -= l[i, m] * y[m];
            y[i] = sum / l[i, i];
            quadratic += y[i] * y[i];
        }
        return -0.5 * (quadratic + logDeterminant + Features * LogSpace.LogTwoPi);
    }

    private static FeatureMatrix Data(int rows) => new(TestData.Normal(rows * Features, seed: 21).Select(v => 1.5f * v).ToArray(), rows, Features);

    [TestMethod]
    public void AtTheExactPosteriorEveryImportanceWeightIsTheMarginalLikelihood()
    {
        // log p(x) = ELBO + KL(q || p(z|x)) with KL = 0, and w = p(x, z)/p(z|x) = p(x) for every z: every K, every draw.
        var layout = LinearGaussianLayout();
        var x = Data(5);
        using var backend = new ManagedBackend(layout, threads: 1);
        backend.SetParameters(LinearGaussianParameters(layout));
        foreach (int k in new[] { 1, 2, 7 })
            for (int seed = 0; seed < 3; seed++)
            {
                var noise = TestData.Normal(x.Rows * k * Latent, seed: seed, stream: 100 + k);
                var logWeights = new float[x.Rows * k];
                backend.LogWeights(x.Values, x.Rows, noise, k, logWeights);
                var bounds = new float[x.Rows];
                backend.Gradient(x.Values, x.Rows, noise, k, new ObjectiveSettings(false), bounds, new float[layout.Count]);
                for (int r = 0; r < x.Rows; r++)
                {
                    double expected = LogMarginal(x.Values.AsSpan(r * Features, Features));
                    for (int s = 0; s < k; s++) Assert.AreEqual(expected, logWeights[r * k + s], 2e-4 + 1e-5 * Math.Abs(expected), $"row {r}, K {k}, sample {s}");
                    Assert.AreEqual(expected, bounds[r], 2e-4 + 1e-5 * Math.Abs(expected), $"row {r}, K {k}: L_K");
                }
            }
    }

    [TestMethod]
    public void TheElboFallsShortOfLogLikelihoodByTheKlToTheExactPosterior()
    {
        // E_q[log w] = log p(x) − KL(q || p(z|x)) for a q away from the posterior (Gaussian KL in closed form); N draws,
        // tolerance 4.5 standard errors.
        double[] meanShift = [0.4, -0.3], logVarianceShift = [0.5, -0.4];
        var layout = LinearGaussianLayout();
        var x = Data(3);
        using var backend = new ManagedBackend(layout, threads: 1);
        backend.SetParameters(LinearGaussianParameters(layout, meanShift, logVarianceShift));
        const int draws = 20000;
        var noise = TestData.Normal(x.Rows * draws * Latent, seed: 9);
        var logWeights = new float[x.Rows * draws];
        backend.LogWeights(x.Values, x.Rows, noise, draws, logWeights);
        double kl = 0;
        for (int d = 0; d < Latent; d++)
            kl += 0.5 * (Math.Exp(logVarianceShift[d]) - 1 - logVarianceShift[d] + meanShift[d] * meanShift[d] * (NoiseVariance + RowNormSquared(d)) / NoiseVariance);
        for (int r = 0; r < x.Rows; r++)
        {
            var row = logWeights.AsSpan(r * draws, draws).ToArray();
            double mean = row.Average(v => (double)v);
            double standardError = Math.Sqrt(row.Average(v => (v - mean) * (v - mean)) / draws);
            double expected = LogMarginal(x.Values.AsSpan(r * Features, Features)) - kl;
            Assert.IsTrue(kl > 10 * standardError, "the KL gap must be resolvable at this number of draws");
            Assert.AreEqual(expected, mean, 4.5 * standardError + 1e-4, $"row {r}");
        }
    }

    [TestMethod]
    public void AtTheExactPosteriorThePathDerivativeEstimatorsHaveZeroVariance()
    {
        // With q = p(z|x), log p(x, z) − log q(z|x) is constant in z, so the path derivative (q's parameters held) is 0
        // for every draw (STL, and DReG for K > 1); the plain reparameterised gradient keeps the score term ∇_φ log q,
        // zero only on average.
        var layout = LinearGaussianLayout();
        var x = Data(4);
        using var backend = new ManagedBackend(layout, threads: 1);
        backend.SetParameters(LinearGaussianParameters(layout));
        var encoder = layout.Tensors.Where(t => t.Name.StartsWith("enc.")).SelectMany(t => Enumerable.Range(t.Offset, t.Length)).ToArray();
        foreach (var (estimator, k) in new[] { (GradientEstimator.StickingTheLanding, 1), (GradientEstimator.StickingTheLanding, 4), (GradientEstimator.DoublyReparameterized, 4) })
        {
            var objective = new ObjectiveSettings(false) { Estimator = estimator };
            var standard = new ObjectiveSettings(false);
            double standardSpread = 0;
            var first = new float[layout.Count];
            for (int draw = 0; draw < 20; draw++)
            {
                var noise = TestData.Normal(x.Rows * k * Latent, seed: draw, stream: 200);
                var gradient = FiniteDifference.Gradient(backend, x, noise, k, objective);
                foreach (int i in encoder) Assert.AreEqual(0, gradient[i], 2e-5, $"{estimator}, K {k}, draw {draw}");
                var plain = FiniteDifference.Gradient(backend, x, noise, k, standard);
                if (draw == 0) plain.CopyTo(first);
                foreach (int i in encoder) standardSpread = Math.Max(standardSpread, Math.Abs(plain[i] - first[i]));
            }
            Assert.IsTrue(standardSpread > 0.05, $"the reparameterised encoder gradient should vary between draws (spread {standardSpread})");
        }
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
        TrainSubset(backend, parameters, decoder, x, steps: 1500, learningRate: 0.01f, new ObjectiveSettings(false));

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
