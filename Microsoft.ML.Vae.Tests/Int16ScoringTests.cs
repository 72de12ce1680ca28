using Microsoft.ML.Vae.Anomaly;
using Microsoft.ML.Vae.Datasets;
using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.Managed.LinearAlgebra;

namespace Microsoft.ML.Vae.Tests;

[TestClass]
public sealed class Int16ScoringTests
{
    /// <summary>The Burda et al. model after a short training on the bundled Fashion-MNIST subset, and test images.</summary>
    private static readonly Lazy<(VaeModel Model, FeatureMatrix Test)> s_trained = new(() =>
    {
        var data = FashionMnist.Load(maxTrain: 1000, maxTest: 40);
        var options = new VaeModelOptions { HiddenSizes = [200, 200], LatentSize = 50, Activation = Activation.Tanh, Decoder = DecoderKind.Bernoulli };
        var model = new VaeTrainer(options, new VaeTrainerOptions { SampleCount = 1, Epochs = 2, BatchSize = 50, Threads = 2, Binarization = Binarization.Dynamic })
            .Fit(data.Train.Images);
        return (model, data.Test.Images);
    });

    [TestMethod]
    public void LogLikelihoodIsWithinATenthOfANatOfFloat32()
    {
        if (Int16Gemm.Width == GemmVectorWidth.Scalar) Assert.Inconclusive("ScoringPrecision.Int16 needs AVX2 or AVX-512.");
        var (model, test) = s_trained.Value;
        using var int16 = model.UseScoringPrecision(ScoringPrecision.Int16);
        Assert.AreEqual(ScoringPrecision.Int16, int16.ScoringPrecision);
        float[] full = model.LogLikelihood(test, 1000, seed: 3), low = int16.LogLikelihood(test, 1000, seed: 3);
        var difference = full.Zip(low, (f, l) => Math.Abs((double)l - f)).ToArray();
        Assert.IsTrue(difference.Max() < 0.1, $"largest difference {difference.Max()} nats");
        Assert.IsTrue(difference.Average() < 0.01, $"mean difference {difference.Average()} nats");
        Assert.IsTrue(difference.Any(d => d > 0), "int16 scoring gave float32's numbers: it did not run");
    }

    [TestMethod]
    [DataRow(DecoderKind.Gaussian, Activation.Relu, LatentKind.Gaussian)]
    [DataRow(DecoderKind.Bernoulli, Activation.Softplus, LatentKind.Categorical)]
    public void OtherDecodersActivationsAndLatentsStayCloseToFloat32(DecoderKind decoder, Activation activation, LatentKind latent)
    {
        if (Int16Gemm.Width == GemmVectorWidth.Scalar) Assert.Inconclusive("ScoringPrecision.Int16 needs AVX2 or AVX-512.");
        var data = TestData.Clusters(64, 30, seed: 5);
        var options = new VaeModelOptions
        {
            HiddenSizes = [40, 20], LatentSize = 4, CategoryCount = 3, Latent = latent, Activation = activation, Decoder = decoder,
            LearnDecoderVariance = decoder == DecoderKind.Gaussian,
        };
        var trainer = new VaeTrainerOptions
        {
            SampleCount = latent == LatentKind.Categorical ? 1 : 2, Epochs = 5, BatchSize = 16, Threads = 2, AnalyticKl = latent == LatentKind.Categorical,
        };
        using var model = new VaeTrainer(options, trainer).Fit(data);
        using var int16 = model.UseScoringPrecision(ScoringPrecision.Int16);
        float[] full = model.LogLikelihood(data, 200, seed: 2), low = int16.LogLikelihood(data, 200, seed: 2);
        for (int r = 0; r < data.Rows; r++)
            Assert.AreEqual(full[r], low[r], 0.05 + 1e-3 * Math.Abs(full[r]), $"row {r}");
        Assert.IsFalse(full.SequenceEqual(low), "int16 scoring gave float32's numbers: it did not run");
    }

    [TestMethod]
    public void Int16ScoringIsReproducibleAndLeavesEmbeddingsAndTheModelAlone()
    {
        if (Int16Gemm.Width == GemmVectorWidth.Scalar) Assert.Inconclusive("ScoringPrecision.Int16 needs AVX2 or AVX-512.");
        var (model, test) = s_trained.Value;
        float[] before = model.LogLikelihood(test, 300, seed: 1);
        using var int16 = model.UseScoringPrecision(ScoringPrecision.Int16);
        float[] first = int16.LogLikelihood(test, 300, seed: 1);
        // Rows scored concurrently, alone or in another batch give the same numbers (noise streams are per row).
        var concurrent = new float[8][];
        Parallel.For(0, concurrent.Length, i => concurrent[i] = int16.LogLikelihood(test, 300, seed: 1));
        foreach (var again in concurrent) CollectionAssert.AreEqual(first, again);
        var tail = new float[test.Rows - 7];
        int16.LogLikelihood(test.Values.AsSpan(7 * test.Columns), test.Rows - 7, tail, 300, seed: 1, firstRowIndex: 7);
        CollectionAssert.AreEqual(first[7..], tail);
        CollectionAssert.AreEqual(model.Embed(test).Values, int16.Embed(test).Values, "embeddings stay float32");
        CollectionAssert.AreEqual(before, model.LogLikelihood(test, 300, seed: 1), "the original model still scores in float32");
        using var back = int16.UseScoringPrecision(ScoringPrecision.Float32);
        CollectionAssert.AreEqual(before, back.LogLikelihood(test, 300, seed: 1));
    }

    [TestMethod]
    public void AnAnomalyDetectorScoresInInt16CloseToFloat32AndLeavesTheOriginalAlone()
    {
        if (Int16Gemm.Width == GemmVectorWidth.Scalar) Assert.Inconclusive("ScoringPrecision.Int16 needs AVX2 or AVX-512.");
        var options = new VaeAnomalyDetectorOptions
        {
            Model = new VaeModelOptions { HiddenSizes = [32], LatentSize = 3, Decoder = DecoderKind.Gaussian, LearnDecoderVariance = true },
            Trainer = new VaeTrainerOptions { Epochs = 10, SampleCount = 2, BatchSize = 20, Threads = 2, Seed = 3 },
            Score = AnomalyScoreKind.LikelihoodRatio, EvaluationSampleCount = 50, EnsembleSize = 2, TargetFalsePositiveRate = 0.1,
        };
        var rows = TestData.Clusters(120, 12, seed: 7);
        using var detector = new VaeAnomalyTrainer(options).Fit(rows);
        float[] before = detector.Score(rows);
        using (var int16 = detector.UseScoringPrecision(ScoringPrecision.Int16))
        {
            Assert.AreEqual(ScoringPrecision.Int16, int16.Model.ScoringPrecision);
            Assert.AreEqual(ScoringPrecision.Int16, int16.BackgroundModel!.ScoringPrecision);
            Assert.AreEqual(detector.Threshold, int16.Threshold);
            float[] low = int16.Score(rows);
            double spread = before.Max() - before.Min();
            for (int r = 0; r < rows.Rows; r++) Assert.AreEqual(before[r], low[r], 0.01 * spread, $"row {r}");
            Assert.IsFalse(before.SequenceEqual(low), "int16 scoring gave float32's scores: it did not run");
        }
        CollectionAssert.AreEqual(before, detector.Score(rows), "the original detector still scores in float32 after the copy is disposed");
    }

    [TestMethod]
    public void Int16ScoringOnTheLibTorchEngineAndUnknownPrecisionsAreRejectedByName()
    {
        var layout = new Model.ParameterLayout(TestData.SmallOptions(), 10);
        var e = Assert.ThrowsExactly<ArgumentException>(() => BackendFactory.Create(layout, EngineKind.LibTorch, 1, scoringPrecision: ScoringPrecision.Int16));
        StringAssert.Contains(e.Message, "ScoringPrecision.Int16 runs on the managed engine only");
        var (model, _) = s_trained.Value;
        var unknown = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.UseScoringPrecision((ScoringPrecision)7));
        StringAssert.Contains(unknown.Message, "precision");
    }
}
