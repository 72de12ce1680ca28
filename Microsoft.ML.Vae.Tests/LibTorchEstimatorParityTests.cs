using Microsoft.ML.Vae.Datasets;
using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Mathematics;
using Microsoft.ML.Vae.Model;
using static Microsoft.ML.Vae.Tests.LibTorchEngineTests;

namespace Microsoft.ML.Vae.Tests;

/// <summary>
/// The libtorch engine against the managed one for the objectives, gradient estimators, priors and categorical
/// latents of docs/estimators.md: same parameters and noise, same bounds, gradients, log weights and embeddings to
/// float32 rounding. These tests need the native shim (eng/build-native.sh).
/// </summary>
[TestClass]
public sealed class LibTorchEstimatorParityTests
{
    private const int Rows = 5, Features = 7;

    /// <summary>Every estimator with every objective (K = 4; M = 2 for MIWAE and PIWAE) and with the ELBO, on every Gaussian prior.</summary>
    public static IEnumerable<object[]> GaussianCases()
    {
        foreach (var prior in new[] { PriorKind.Standard, PriorKind.LearnedGaussian, PriorKind.Vamp })
            foreach (var estimator in Enum.GetValues<GradientEstimator>())
            {
                yield return [prior, estimator, TrainingObjective.Iwae, 1, 1, float.NaN];
                foreach (var (objective, groups) in new[] { (TrainingObjective.Iwae, 1), (TrainingObjective.Miwae, 2), (TrainingObjective.Ciwae, 1), (TrainingObjective.Piwae, 2) })
                    yield return [prior, estimator, objective, 4, groups, estimator == GradientEstimator.ScoreFunction && objective != TrainingObjective.Iwae ? -9.5f : float.NaN];
            }
        // MIWAE with M = K (the K-sample ELBO) and PIWAE with M = 1 (IWAE).
        yield return [PriorKind.Vamp, GradientEstimator.DoublyReparameterized, TrainingObjective.Miwae, 4, 4, float.NaN];
        yield return [PriorKind.LearnedGaussian, GradientEstimator.ScoreFunction, TrainingObjective.Piwae, 4, 1, float.NaN];
    }

    /// <summary>The relaxed ELBO (plain and straight-through) and the score function with every objective.</summary>
    public static IEnumerable<object[]> CategoricalCases()
    {
        yield return [GradientEstimator.Reparameterization, false, TrainingObjective.Iwae, 1, 1, float.NaN];
        yield return [GradientEstimator.Reparameterization, true, TrainingObjective.Iwae, 1, 1, float.NaN];
        yield return [GradientEstimator.ScoreFunction, false, TrainingObjective.Iwae, 1, 1, float.NaN];
        yield return [GradientEstimator.ScoreFunction, false, TrainingObjective.Iwae, 4, 1, float.NaN];
        yield return [GradientEstimator.ScoreFunction, false, TrainingObjective.Miwae, 4, 2, -9.5f];
        yield return [GradientEstimator.ScoreFunction, false, TrainingObjective.Ciwae, 4, 1, -9.5f];
        yield return [GradientEstimator.ScoreFunction, false, TrainingObjective.Piwae, 4, 2, float.NaN];
    }

    [TestMethod]
    [DynamicData(nameof(GaussianCases))]
    public void GaussianBoundAndGradientMatchManagedEngine(PriorKind prior, GradientEstimator estimator, TrainingObjective objective, int k, int groups, float baseline)
    {
        // The decoder varies with the prior so that every likelihood meets every estimator somewhere.
        var (decoder, learnVariance) = prior switch
        {
            PriorKind.Standard => (DecoderKind.Bernoulli, false),
            PriorKind.LearnedGaussian => (DecoderKind.Gaussian, true),
            _ => (DecoderKind.Gaussian, false),
        };
        var options = TestData.SmallOptions(decoder, Activation.Tanh, learnVariance);
        options.Prior = prior;
        options.PseudoInputCount = 3;
        var settings = new ObjectiveSettings(false) { Objective = objective, Groups = groups, CiwaeBeta = 0.3f, Estimator = estimator, ScoreBaseline = baseline };
        AssertGradientParity(options, Features, TestData.Clusters(Rows, Features, seed: k + groups), settings, k, seed: (int)estimator + 10 * (int)prior);
    }

    [TestMethod]
    [DynamicData(nameof(CategoricalCases))]
    public void CategoricalBoundAndGradientMatchManagedEngine(GradientEstimator estimator, bool straightThrough, TrainingObjective objective, int k, int groups, float baseline)
    {
        var settings = new ObjectiveSettings(estimator == GradientEstimator.Reparameterization)
        {
            Objective = objective, Groups = groups, CiwaeBeta = 0.3f, Estimator = estimator, ScoreBaseline = baseline,
            Temperature = 0.7f, StraightThrough = straightThrough,
        };
        AssertGradientParity(CategoricalOptions(DecoderKind.Bernoulli), Features, TestData.Clusters(Rows, Features, seed: k), settings, k, seed: k + groups);
    }

    [TestMethod]
    [DataRow(PriorKind.LearnedGaussian, LatentKind.Gaussian)]
    [DataRow(PriorKind.Vamp, LatentKind.Gaussian)]
    [DataRow(PriorKind.Standard, LatentKind.Categorical)]
    public void EmbeddingsLogWeightsAndDecoderOutputsMatchManagedEngine(PriorKind prior, LatentKind latent)
    {
        var options = latent == LatentKind.Categorical ? CategoricalOptions(DecoderKind.Gaussian) : TestData.SmallOptions(DecoderKind.Bernoulli);
        options.Prior = prior;
        options.PseudoInputCount = 4;
        var layout = new ParameterLayout(options, Features);
        var parameters = TestData.RandomParameters(layout, seed: 81);
        var x = TestData.Clusters(Rows, Features, seed: 82);
        int d = layout.LatentSize, k = 6;
        using var engines = new EngineTrio(layout, parameters);
        engines.AssertEncodingsAgree(x.Values, Rows);
        var noise = Noise(layout, Rows * k * d, seed: 83);
        float[] LogWeights(IVaeBackend engine)
        {
            var weights = new float[Rows * k];
            engine.LogWeights(x.Values, Rows, noise, k, weights);
            return weights;
        }
        engines.AssertAgree("log weight", LogWeights);

        // After new parameters the engine's cached prior (the VampPrior's encoder pass) must follow.
        engines.SetParameters(TestData.RandomParameters(layout, seed: 84));
        engines.AssertAgree("log weight after SetParameters", LogWeights);

        var z = TestData.Normal(Rows * d, seed: 85);
        engines.AssertAgree("decoder output", engine =>
        {
            var output = new float[Rows * Features];
            engine.Decode(z, Rows, output);
            return output;
        });
    }

    [TestMethod]
    [DataRow(PriorKind.Vamp, LatentKind.Gaussian, GradientEstimator.DoublyReparameterized, TrainingObjective.Piwae, false)]
    [DataRow(PriorKind.LearnedGaussian, LatentKind.Gaussian, GradientEstimator.StickingTheLanding, TrainingObjective.Ciwae, false)]
    [DataRow(PriorKind.Standard, LatentKind.Categorical, GradientEstimator.ScoreFunction, TrainingObjective.Miwae, false)]
    [DataRow(PriorKind.Standard, LatentKind.Categorical, GradientEstimator.Reparameterization, TrainingObjective.Iwae, true)]
    public void AdamStepsMatchManagedEngine(PriorKind prior, LatentKind latent, GradientEstimator estimator, TrainingObjective objective, bool analyticKl)
    {
        var options = latent == LatentKind.Categorical ? CategoricalOptions(DecoderKind.Bernoulli) : TestData.SmallOptions(DecoderKind.Gaussian, Activation.Softplus, learnVariance: true);
        options.Prior = prior;
        options.PseudoInputCount = 3;
        var layout = new ParameterLayout(options, Features);
        var parameters = TestData.RandomParameters(layout, seed: 91);
        var x = TestData.Clusters(Rows, Features, seed: 92);
        int k = analyticKl ? 1 : 4;
        using var engines = new EngineTrio(layout, parameters);
        engines.AssertAdamStepsAgree(x, k, noiseSeed: 93, steps: 5, step => new ObjectiveSettings(analyticKl)
        {
            Objective = objective, Groups = objective is TrainingObjective.Miwae or TrainingObjective.Piwae ? 2 : 1, Estimator = estimator,
            ScoreBaseline = step == 1 ? float.NaN : -10f, Temperature = 1f / step, StraightThrough = step % 2 == 0,
        });
    }

    /// <summary>
    /// The 784-200-200-50 tanh Bernoulli model on Fashion-MNIST images, whose log weights are hundreds of nats: the
    /// normalised weights (squared, for DReG) and the VampPrior's mixture must not lose precision on either engine.
    /// </summary>
    [TestMethod]
    [DataRow(PriorKind.Standard, GradientEstimator.Reparameterization, TrainingObjective.Iwae)]
    [DataRow(PriorKind.Standard, GradientEstimator.DoublyReparameterized, TrainingObjective.Iwae)]
    [DataRow(PriorKind.Vamp, GradientEstimator.StickingTheLanding, TrainingObjective.Ciwae)]
    [DataRow(PriorKind.LearnedGaussian, GradientEstimator.ScoreFunction, TrainingObjective.Piwae)]
    public void FullSizeModelMatchesManagedEngine(PriorKind prior, GradientEstimator estimator, TrainingObjective objective)
    {
        const int rows = 16, k = 5;
        var images = FashionMnist.Load(maxTrain: rows, maxTest: 1).Train.Images;
        var x = new FeatureMatrix(images.Values.Select(v => v > 0.5f ? 1f : 0f).ToArray(), rows, images.Columns);
        var options = new VaeModelOptions { HiddenSizes = [200, 200], LatentSize = 50, Activation = Activation.Tanh, Prior = prior, PseudoInputCount = 20 };
        var settings = new ObjectiveSettings(false) { Objective = objective, Groups = objective == TrainingObjective.Piwae ? 5 : 1, Estimator = estimator };
        var bounds = AssertGradientParity(options, images.Columns, x, settings, k, seed: 101);
        Assert.IsTrue(bounds.All(b => b < -100), $"Fashion-MNIST images should have bounds of hundreds of nats: {string.Join(", ", bounds)}");
    }

    [TestMethod]
    public void TrainingWithEveryNewOptionGivesTheManagedEnginesHistory()
    {
        var data = TestData.Clusters(40, Features, seed: 111);
        foreach (var (modelOptions, trainerOptions) in new[]
        {
            (WithPrior(TestData.SmallOptions(), PriorKind.Vamp), new VaeTrainerOptions { SampleCount = 4, Objective = TrainingObjective.Piwae, ObjectiveGroups = 2, GradientEstimator = GradientEstimator.DoublyReparameterized }),
            (CategoricalOptions(DecoderKind.Bernoulli), new VaeTrainerOptions { SampleCount = 1, AnalyticKl = true, StraightThrough = true, TemperatureAnnealRate = 0.05f }),
            (CategoricalOptions(DecoderKind.Bernoulli), new VaeTrainerOptions { SampleCount = 3, GradientEstimator = GradientEstimator.ScoreFunction, Objective = TrainingObjective.Ciwae }),
        })
        {
            trainerOptions.Epochs = 3;
            trainerOptions.BatchSize = 10;
            trainerOptions.LearningRate = 5e-3f;
            trainerOptions.Seed = 112;
            trainerOptions.Threads = 2;
            using var managed = new VaeTrainer(modelOptions, trainerOptions).Fit(data);
            trainerOptions.Engine = EngineKind.LibTorch;
            trainerOptions.Device = "cpu";
            using var libTorch = new VaeTrainer(modelOptions, trainerOptions).Fit(data);
            string what = $"{modelOptions.Latent} latents, prior {modelOptions.Prior}, {trainerOptions.Objective} with {trainerOptions.GradientEstimator}";
            for (int epoch = 0; epoch < 3; epoch++)
                Assert.AreEqual(managed.History[epoch].TrainingBound, libTorch.History[epoch].TrainingBound,
                    1e-4 * Math.Abs(managed.History[epoch].TrainingBound), $"{what}: training bound of epoch {epoch + 1}");
            AssertClose(managed.Parameters.ToArray(), libTorch.Parameters.ToArray(), $"{what}: trained parameters", libTorch.Layout, relative: 1e-3f);
        }
    }

    [TestMethod]
    public void SettingsTheManagedEngineRejectsAreRejectedByTheShim()
    {
        var gaussian = new ParameterLayout(WithPrior(TestData.SmallOptions(), PriorKind.LearnedGaussian), Features);
        var categorical = new ParameterLayout(CategoricalOptions(DecoderKind.Bernoulli), Features);
        foreach (var (layout, settings, k, message) in new[]
        {
            (gaussian, new ObjectiveSettings(false) { Objective = TrainingObjective.Miwae, Groups = 3 }, 4, "groups 3 must divide samples 4"),
            (gaussian, new ObjectiveSettings(true), 1, "analytic_kl needs the IWAE objective, the reparameterisation estimator and the standard prior"),
            (categorical, new ObjectiveSettings(false) { Estimator = GradientEstimator.DoublyReparameterized }, 2, "categorical latents train with"),
            (categorical, new ObjectiveSettings(false), 1, "need analytic_kl"),
            (categorical, new ObjectiveSettings(true) { Temperature = 0 }, 1, "temperature must be positive"),
        })
        {
            using var libTorch = CreateLibTorch(layout);
            var noise = Noise(layout, Rows * k * layout.LatentSize, seed: 121);
            var e = Assert.ThrowsExactly<ArgumentException>(() =>
                libTorch.Gradient(TestData.Clusters(Rows, Features, 122).Values, Rows, noise, k, settings, new float[Rows], new float[layout.Count]));
            StringAssert.Contains(e.Message, message);
        }
    }

    /// <summary>Gradient on both engines from the same parameters and noise; asserts bounds and gradients agree and returns the bounds.</summary>
    private static float[] AssertGradientParity(VaeModelOptions options, int features, FeatureMatrix x, in ObjectiveSettings settings, int k, int seed)
    {
        var layout = new ParameterLayout(options, features);
        var parameters = TestData.RandomParameters(layout, seed);
        int rows = x.Rows;
        var noise = Noise(layout, rows * k * layout.LatentSize, seed + 1);
        using var engines = new EngineTrio(layout, parameters);
        return engines.AssertGradientsAgree(x.Values, rows, noise, k, settings);
    }

    /// <summary>Standard normal noise for Gaussian latents, uniform in (0, 1) for categorical ones (as the trainer draws it).</summary>
    private static float[] Noise(ParameterLayout layout, int count, int seed)
    {
        var noise = new float[count];
        new RandomSource(seed, 7).FillLatentNoise(noise, layout.Latent);
        return noise;
    }

    private static VaeModelOptions CategoricalOptions(DecoderKind decoder) => new()
    {
        HiddenSizes = [5, 4],
        DecoderHiddenSizes = [4, 6],
        LatentSize = 3,
        Latent = LatentKind.Categorical,
        CategoryCount = 4,
        Activation = Activation.Tanh,
        Decoder = decoder,
        DecoderVariance = 0.5f,
    };

    private static VaeModelOptions WithPrior(VaeModelOptions options, PriorKind prior)
    {
        options.Prior = prior;
        options.PseudoInputCount = 3;
        return options;
    }
}
