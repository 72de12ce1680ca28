using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>
/// The objectives' gradients against finite differences, and every estimator against the reparameterised gradient of
/// its objective in expectation: paired on the same noise, the mean difference must lie within 4.5 standard errors
/// (plus 1e-5 for exact ties) in every coordinate.
/// </summary>
[TestClass]
public sealed class EstimatorTests
{
    private const int Rows = 2;

    private static (ParameterLayout Layout, float[] Parameters, FeatureMatrix X) SmallModel()
    {
        var options = TestData.SmallOptions(DecoderKind.Gaussian, Activation.Tanh);
        var x = TestData.Clusters(Rows, 7, seed: 1);
        var layout = new ParameterLayout(options, x.Columns);
        return (layout, TestData.RandomParameters(layout, seed: 2), x);
    }

    private static ObjectiveSettings Settings(TrainingObjective objective, GradientEstimator estimator, int groups = 1) =>
        new(AnalyticKl: false) { Objective = objective, Estimator = estimator, Groups = groups, CiwaeBeta = 0.3f };

    public static IEnumerable<object[]> Objectives()
    {
        yield return [TrainingObjective.Miwae, 4, 2];
        yield return [TrainingObjective.Miwae, 3, 3];
        yield return [TrainingObjective.Ciwae, 4, 1];
    }

    [TestMethod]
    [DynamicData(nameof(Objectives))]
    public void ObjectiveGradientMatchesFiniteDifferences(TrainingObjective objective, int k, int groups)
    {
        var (layout, parameters, x) = SmallModel();
        var noise = TestData.Normal(Rows * k * layout.LatentSize, seed: 3);
        FiniteDifference.AssertMatches(layout, parameters, x, noise, k, Settings(objective, GradientEstimator.Reparameterization, groups));
    }

    [TestMethod]
    public void PiwaeTrainsTheDecoderOnIwaeAndTheEncoderOnMiwae()
    {
        var (layout, parameters, x) = SmallModel();
        const int k = 4, groups = 2;
        var noise = TestData.Normal(Rows * k * layout.LatentSize, seed: 3);
        var piwae = Settings(TrainingObjective.Piwae, GradientEstimator.Reparameterization, groups);
        FiniteDifference.AssertMatches(layout, parameters, x, noise, k, piwae, t => t.Name.StartsWith("dec."),
            Settings(TrainingObjective.Iwae, GradientEstimator.Reparameterization));
        FiniteDifference.AssertMatches(layout, parameters, x, noise, k, piwae, t => t.Name.StartsWith("enc."),
            Settings(TrainingObjective.Miwae, GradientEstimator.Reparameterization, groups));
    }

    public static IEnumerable<object[]> UnbiasedCases()
    {
        // STL is unbiased when every term of the bound holds one sample (the ELBO); DReG for every importance-weighted bound.
        yield return [GradientEstimator.StickingTheLanding, TrainingObjective.Iwae, 1, 1, 3000];
        yield return [GradientEstimator.StickingTheLanding, TrainingObjective.Miwae, 3, 3, 3000];
        yield return [GradientEstimator.DoublyReparameterized, TrainingObjective.Iwae, 4, 1, 3000];
        yield return [GradientEstimator.DoublyReparameterized, TrainingObjective.Miwae, 4, 2, 3000];
        yield return [GradientEstimator.DoublyReparameterized, TrainingObjective.Ciwae, 4, 1, 3000];
        yield return [GradientEstimator.DoublyReparameterized, TrainingObjective.Piwae, 4, 2, 3000];
        yield return [GradientEstimator.ScoreFunction, TrainingObjective.Iwae, 1, 1, 10000];
        yield return [GradientEstimator.ScoreFunction, TrainingObjective.Iwae, 3, 1, 10000];
        yield return [GradientEstimator.ScoreFunction, TrainingObjective.Miwae, 4, 2, 10000];
    }

    [TestMethod]
    [DynamicData(nameof(UnbiasedCases))]
    public void EstimatorAgreesWithTheReparameterizedGradientInExpectation(GradientEstimator estimator, TrainingObjective objective, int k, int groups, int draws)
    {
        var (layout, parameters, x) = SmallModel();
        var (mean, standardError) = PairedDifference(layout, parameters, x, k, draws,
            Settings(objective, estimator, groups), Settings(objective, GradientEstimator.Reparameterization, groups));
        for (int i = 0; i < mean.Length; i++)
            Assert.IsTrue(Math.Abs(mean[i]) <= 4.5 * standardError[i] + 1e-5,
                $"{Name(layout, i)}: mean difference {mean[i]:G4}, standard error {standardError[i]:G4}");
    }

    [TestMethod]
    public void TheScoreHasZeroMeanUnderThePosterior()
    {
        // E_q[∇_φ log q(z|x)] = 0, the identity every score-function estimator rests on: raising the baseline by Δ
        // changes the estimate by (Δ/B)·Σ_k ∇_φ log q(z_k|x), whose mean over N draws must be zero within 4.5
        // standard errors in every coordinate (and the score itself must not be identically zero).
        var (layout, parameters, x) = SmallModel();
        const int k = 3;
        const float shift = 100;
        using var backend = new ManagedBackend(layout, threads: 1);
        backend.SetParameters(parameters);
        var low = Settings(TrainingObjective.Iwae, GradientEstimator.ScoreFunction) with { ScoreBaseline = 0 };
        var high = low with { ScoreBaseline = shift };
        var (mean, standardError) = FiniteDifference.MonteCarlo(layout, parameters, x, k, 3000, seed: 8, noise =>
        {
            var a = FiniteDifference.Gradient(backend, x, noise, k, high);
            var b = FiniteDifference.Gradient(backend, x, noise, k, low);
            for (int i = 0; i < a.Length; i++) a[i] = (a[i] - b[i]) / shift;
            return a;
        });
        for (int i = 0; i < mean.Length; i++)
            Assert.IsTrue(Math.Abs(mean[i]) <= 4.5 * standardError[i] + 1e-6, $"{Name(layout, i)}: mean score {mean[i]:G4}, standard error {standardError[i]:G4}");
        Assert.IsTrue(standardError.Max() * Math.Sqrt(3000) > 0.1, "the score should vary from draw to draw");
    }

    [TestMethod]
    public void TheRunningMeanBaselineReducesTheScoreFunctionsVariance()
    {
        // The encoder's score-function estimate is Σ_k (f − c − w̃_k)·∇ log q(z_k|x): its variance grows with (f − c)².
        // The trainer's baseline c is the running mean of the bound f, so with c = E[f] the variance must be well below
        // that with c = 0, and a sign error (f + c, as c = −E[f]) well above.
        var (layout, parameters, x) = SmallModel();
        const int k = 3, draws = 1500;
        using var backend = new ManagedBackend(layout, threads: 1);
        backend.SetParameters(parameters);
        var noise = TestData.Normal(draws * Rows * k * layout.LatentSize, seed: 12);
        var replicated = Enumerable.Range(0, draws).SelectMany(_ => x.Values).ToArray();
        var logWeights = new float[draws * Rows * k];
        backend.LogWeights(replicated, draws * Rows, noise, k, logWeights);
        double meanBound = Enumerable.Range(0, draws * Rows).Average(i => Mathematics.LogSpace.LogMeanExp(logWeights.AsSpan(i * k, k)));
        Assert.IsTrue(Math.Abs(meanBound) > 3, $"the bound {meanBound} must be far from 0 for the baseline to matter");

        double EncoderVariance(double baseline)
        {
            var settings = Settings(TrainingObjective.Iwae, GradientEstimator.ScoreFunction) with { ScoreBaseline = (float)baseline };
            var (_, standardError) = FiniteDifference.MonteCarlo(layout, parameters, x, k, draws, seed: 13,
                n => FiniteDifference.Gradient(backend, x, n, k, settings));
            return layout.Tensors.Where(t => t.Name.StartsWith("enc.")).Sum(t => Enumerable.Range(t.Offset, t.Length).Sum(i => standardError[i] * standardError[i] * draws));
        }
        double none = EncoderVariance(0), running = EncoderVariance(meanBound), flipped = EncoderVariance(-meanBound);
        Assert.IsTrue(running < 0.5 * none, $"variance with the baseline {running:G4}, without {none:G4}");
        Assert.IsTrue(flipped > 2 * none, $"variance with the baseline's sign flipped {flipped:G4}, without {none:G4}");
    }

    [TestMethod]
    public void StickingTheLandingIsBiasedForTheIwaeBound()
    {
        // The negative control of the test above: STL's path derivative on L_K (K > 1) has a bias (Tucker et al. 2018)
        // that the same paired comparison detects.
        var (layout, parameters, x) = SmallModel();
        var (mean, standardError) = PairedDifference(layout, parameters, x, 4, 3000,
            Settings(TrainingObjective.Iwae, GradientEstimator.StickingTheLanding), Settings(TrainingObjective.Iwae, GradientEstimator.Reparameterization));
        double largest = Enumerable.Range(0, mean.Length).Max(i => Math.Abs(mean[i]) / (standardError[i] + 1e-12));
        Assert.IsTrue(largest > 8, $"largest |mean difference| / standard error = {largest:F1}");
    }

    [TestMethod]
    public void EstimatorsLeaveTheDecoderGradientAlone()
    {
        var (layout, parameters, x) = SmallModel();
        const int k = 4;
        var noise = TestData.Normal(Rows * k * layout.LatentSize, seed: 5);
        using var backend = new ManagedBackend(layout, threads: 1);
        backend.SetParameters(parameters);
        var reference = FiniteDifference.Gradient(backend, x, noise, k, Settings(TrainingObjective.Iwae, GradientEstimator.Reparameterization));
        foreach (var estimator in new[] { GradientEstimator.StickingTheLanding, GradientEstimator.DoublyReparameterized, GradientEstimator.ScoreFunction })
        {
            var gradient = FiniteDifference.Gradient(backend, x, noise, k, Settings(TrainingObjective.Iwae, estimator));
            foreach (var tensor in layout.Tensors.Where(t => t.Name.StartsWith("dec.")))
                for (int i = tensor.Offset; i < tensor.Offset + tensor.Length; i++)
                    Assert.AreEqual(reference[i], gradient[i], 1e-6, $"{estimator}: {tensor.Name}");
            bool encoderDiffers = layout.Tensors.Where(t => t.Name.StartsWith("enc.")).Any(t =>
                Enumerable.Range(t.Offset, t.Length).Any(i => Math.Abs(reference[i] - gradient[i]) > 1e-4));
            Assert.IsTrue(encoderDiffers, $"{estimator} gave the reparameterised encoder gradient");
        }
    }

    [TestMethod]
    public void ObjectivesStayFiniteForLargeLogWeights()
    {
        // Log weights of hundreds of nats (real data) must not overflow the normalised weights.
        var (layout, parameters, x) = SmallModel();
        var far = new FeatureMatrix(x.Values.Select(v => 40 * v).ToArray(), x.Rows, x.Columns);
        const int k = 4;
        var noise = TestData.Normal(Rows * k * layout.LatentSize, seed: 3);
        using var backend = new ManagedBackend(layout, threads: 1);
        backend.SetParameters(parameters);
        foreach (var objective in Enum.GetValues<TrainingObjective>())
            foreach (var estimator in Enum.GetValues<GradientEstimator>())
            {
                var bounds = new float[Rows];
                var gradient = new float[layout.Count];
                backend.Gradient(far.Values, Rows, noise, k, Settings(objective, estimator, objective is TrainingObjective.Miwae or TrainingObjective.Piwae ? 2 : 1), bounds, gradient);
                Assert.IsTrue(bounds.All(b => b < -200), $"the test needs large log weights (got {bounds[0]})");
                Assert.IsTrue(gradient.All(float.IsFinite), $"{objective}, {estimator}");
            }
    }

    private static (double[] Mean, double[] StandardError) PairedDifference(ParameterLayout layout, float[] parameters, FeatureMatrix x, int k, int draws,
        ObjectiveSettings estimate, ObjectiveSettings reference)
    {
        using var backend = new ManagedBackend(layout, threads: 1);
        backend.SetParameters(parameters);
        return FiniteDifference.MonteCarlo(layout, parameters, x, k, draws, seed: 4, noise =>
        {
            var a = FiniteDifference.Gradient(backend, x, noise, k, estimate);
            var b = FiniteDifference.Gradient(backend, x, noise, k, reference);
            for (int i = 0; i < a.Length; i++) a[i] -= b[i];
            return a;
        });
    }

    private static string Name(ParameterLayout layout, int index)
    {
        var tensor = layout.Tensors.First(t => index >= t.Offset && index < t.Offset + t.Length);
        return $"{tensor.Name}[{index - tensor.Offset}]";
    }
}
