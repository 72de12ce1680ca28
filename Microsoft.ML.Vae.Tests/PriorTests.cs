using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Mathematics;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>The learned Gaussian prior and the VampPrior: gradients, what fitting them does, and what the VampPrior is.</summary>
[TestClass]
public sealed class PriorTests
{
    private static VaeModelOptions Options(PriorKind prior, int pseudoInputs = 3)
    {
        var options = TestData.SmallOptions(DecoderKind.Gaussian, Activation.Tanh);
        options.Prior = prior;
        options.PseudoInputCount = pseudoInputs;
        return options;
    }

    [TestMethod]
    [DataRow(PriorKind.LearnedGaussian, 1)]
    [DataRow(PriorKind.LearnedGaussian, 3)]
    [DataRow(PriorKind.Vamp, 1)]
    [DataRow(PriorKind.Vamp, 3)]
    public void PriorGradientMatchesFiniteDifferences(PriorKind prior, int k)
    {
        const int rows = 3;
        var x = TestData.Clusters(rows, 7, seed: 1);
        var layout = new ParameterLayout(Options(prior), x.Columns);
        Assert.AreEqual(layout.DecoderOutput.Bias.Offset + layout.DecoderOutput.Bias.Length, layout.Tensors.First(t => t.Name.StartsWith("prior.")).Offset,
            "prior parameters follow the decoder");
        var parameters = TestData.RandomParameters(layout, seed: 2);
        var noise = TestData.Normal(rows * k * layout.LatentSize, seed: 3);
        FiniteDifference.AssertMatches(layout, parameters, x, noise, k, new ObjectiveSettings(false));
    }

    [TestMethod]
    public void FittingTheLearnedPriorMatchesTheAggregatePosteriorAndRaisesTheElbo()
    {
        // With the encoder and decoder fixed, the ELBO depends on the prior only through Σ log p(z_s), maximised by the
        // Gaussian's maximum-likelihood fit: the sample mean and variance of the z_s.
        const int rows = 30, k = 8;
        var x = TestData.Clusters(rows, 7, seed: 4);
        var layout = new ParameterLayout(Options(PriorKind.LearnedGaussian), x.Columns);
        var parameters = TestData.RandomParameters(layout, seed: 5);
        var prior = new[] { layout.Find("prior.mu"), layout.Find("prior.logvar") };
        foreach (var t in prior) parameters.AsSpan(t.Offset, t.Length).Clear(); // start at N(0, I)
        var noise = TestData.Normal(rows * k * layout.LatentSize, seed: 6);
        var elbo = new ObjectiveSettings(false) { Objective = TrainingObjective.Miwae, Groups = k }; // mean of K one-sample ELBOs
        using var backend = new ManagedBackend(layout, threads: 1);
        backend.SetParameters(parameters);
        double before = MeanBound(backend, x, noise, k, elbo);

        VariationalIdentityTests.TrainSubset(backend, parameters, prior, x, steps: 300, learningRate: 0.1f, elbo, noise);
        double after = MeanBound(backend, x, noise, k, elbo);
        Assert.IsTrue(after > before + 0.05, $"ELBO {before} -> {after}");

        int d = layout.LatentSize;
        var mean = new float[rows * d];
        var logVariance = new float[rows * d];
        backend.Encode(x.Values, rows, mean, logVariance);
        for (int j = 0; j < d; j++)
        {
            var z = Enumerable.Range(0, rows * k).Select(s => mean[s / k * d + j] + MathF.Exp(0.5f * logVariance[s / k * d + j]) * noise[s * d + j]).ToArray();
            double m = z.Average(v => (double)v), variance = z.Average(v => (v - m) * (v - m));
            Assert.AreEqual(m, parameters[prior[0].Offset + j], 0.01, $"prior mean {j}");
            Assert.AreEqual(variance, Math.Exp(parameters[prior[1].Offset + j]), 0.01 * variance, $"prior variance {j}");
        }
    }

    [TestMethod]
    public void FittingTheVampPriorRaisesTheElbo()
    {
        const int rows = 30, k = 8;
        var x = TestData.Clusters(rows, 7, seed: 4);
        var layout = new ParameterLayout(Options(PriorKind.Vamp, pseudoInputs: 4), x.Columns);
        var parameters = TestData.RandomParameters(layout, seed: 5);
        var noise = TestData.Normal(rows * k * layout.LatentSize, seed: 6);
        var elbo = new ObjectiveSettings(false) { Objective = TrainingObjective.Miwae, Groups = k };
        using var backend = new ManagedBackend(layout, threads: 1);
        backend.SetParameters(parameters);
        double before = MeanBound(backend, x, noise, k, elbo);
        var encoderBefore = parameters.AsSpan(0, layout.DecoderHidden[0].Weight.Offset).ToArray();

        VariationalIdentityTests.TrainSubset(backend, parameters, [layout.Find("prior.pseudo")], x, steps: 300, learningRate: 0.05f, elbo, noise);
        double after = MeanBound(backend, x, noise, k, elbo);
        Assert.IsTrue(after > before + 0.02, $"ELBO {before} -> {after}");
        CollectionAssert.AreEqual(encoderBefore, parameters.AsSpan(0, encoderBefore.Length).ToArray(), "the encoder was held fixed");
    }

    [TestMethod]
    public void VampPriorWithTheDataAsPseudoInputsIsTheAggregatePosterior()
    {
        // (1/N) Σ_n q(z | x_n): the VampPrior at u_n = x_n.
        const int rows = 6;
        var x = TestData.Clusters(rows, 7, seed: 8);
        var layout = new ParameterLayout(Options(PriorKind.Vamp, pseudoInputs: rows), x.Columns);
        var parameters = TestData.RandomParameters(layout, seed: 9);
        var pseudo = layout.Find("prior.pseudo");
        x.Values.AsSpan().CopyTo(parameters.AsSpan(pseudo.Offset, pseudo.Length));
        using var backend = new ManagedBackend(layout, threads: 1);
        backend.SetParameters(parameters);
        int d = layout.LatentSize;
        var mean = new float[rows * d];
        var logVariance = new float[rows * d];
        backend.Encode(x.Values, rows, mean, logVariance);

        const int points = 50;
        var z = TestData.Normal(points * d, seed: 10);
        var logPrior = new float[points];
        backend.LogPrior(z, points, logPrior);
        for (int p = 0; p < points; p++)
        {
            double sum = 0;
            for (int n = 0; n < rows; n++)
            {
                double logDensity = 0;
                for (int j = 0; j < d; j++)
                {
                    double delta = z[p * d + j] - mean[n * d + j], lv = logVariance[n * d + j];
                    logDensity += -0.5 * (delta * delta * Math.Exp(-lv) + lv + LogSpace.LogTwoPi);
                }
                sum += Math.Exp(logDensity);
            }
            Assert.AreEqual(Math.Log(sum / rows), logPrior[p], 1e-4 + 1e-5 * Math.Abs(logPrior[p]), $"point {p}");
        }
    }

    [TestMethod]
    public void PriorModelsSaveAndLoad()
    {
        var x = TestData.Clusters(20, 7, seed: 1);
        foreach (var prior in new[] { PriorKind.LearnedGaussian, PriorKind.Vamp })
        {
            var trainer = new VaeTrainer(Options(prior), new VaeTrainerOptions { Epochs = 2, BatchSize = 10, Threads = 1 });
            using var model = trainer.Fit(x);
            using var stream = new MemoryStream();
            model.Save(stream);
            stream.Position = 0;
            using var loaded = VaeModel.Load(stream);
            Assert.AreEqual(prior, loaded.Options.Prior);
            Assert.AreEqual(model.Options.PseudoInputCount, loaded.Options.PseudoInputCount);
            CollectionAssert.AreEqual(model.LogLikelihood(x, 20), loaded.LogLikelihood(x, 20));
        }
    }

    [TestMethod]
    public void VersionOneModelFilesStillLoad()
    {
        // A version 1 file is a version 2 file without the four new option fields (latent kind, category count,
        // prior, pseudo-input count); it loads with their defaults.
        var x = TestData.Clusters(20, 7, seed: 1);
        var options = TestData.SmallOptions();
        using var model = new VaeTrainer(options, new VaeTrainerOptions { Epochs = 1, BatchSize = 10, Threads = 1 }).Fit(x);
        using var stream = new MemoryStream();
        model.Save(stream);
        var bytes = stream.ToArray().AsSpan(0, (int)stream.Length - 32).ToArray().ToList();
        int optionsEnd = 8 + 4 + 4 + 4 * options.HiddenSizes.Length + 1 + 4 + 4 * options.DecoderHiddenSizes!.Length + 4 + 4 + 4 + 1 + 4;
        bytes.RemoveRange(optionsEnd, 16);
        var version1 = bytes.ToArray();
        BitConverter.GetBytes(1).CopyTo(version1, 8);
        using var file = new MemoryStream([.. version1, .. System.Security.Cryptography.SHA256.HashData(version1)]);
        using var loaded = VaeModel.Load(file);
        Assert.AreEqual(LatentKind.Gaussian, loaded.Options.Latent);
        Assert.AreEqual(PriorKind.Standard, loaded.Options.Prior);
        CollectionAssert.AreEqual(model.LogLikelihood(x, 20), loaded.LogLikelihood(x, 20));
    }

    private static double MeanBound(ManagedBackend backend, FeatureMatrix x, float[] noise, int k, ObjectiveSettings objective)
    {
        var bounds = new float[x.Rows];
        backend.Gradient(x.Values, x.Rows, noise, k, objective, bounds, new float[backend.Layout.Count]);
        return bounds.Average(v => (double)v);
    }
}
