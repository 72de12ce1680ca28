using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

[TestClass]
public sealed class TrainerTests
{
    private static VaeTrainerOptions Fast(int seed = 1, int k = 3) => new() { SampleCount = k, Epochs = 4, BatchSize = 16, Seed = seed, Threads = 2, LearningRate = 3e-3f };

    private static VaeTrainerOptions FastWithEpochs(int epochs)
    {
        var options = Fast();
        options.Epochs = epochs;
        return options;
    }

    private static float[] ParametersOf(VaeModel model) => model.Parameters.ToArray();

    [TestMethod]
    public void FanInUniformDrawsWeightsAndBiasesWithinOneOverRootFanIn_GlorotLeavesBiasesAtZero()
    {
        var layout = new ParameterLayout(new VaeModelOptions { HiddenSizes = [64, 32], LatentSize = 4 }, 100);
        var fanIn = layout.Initialize(new Mathematics.RandomSource(1), WeightInitialization.FanInUniform);
        var glorot = layout.Initialize(new Mathematics.RandomSource(1));
        foreach (var layer in layout.EncoderHidden.Concat(layout.DecoderHidden).Append(layout.DecoderOutput))
        {
            float limit = 1f / MathF.Sqrt(layer.Inputs);
            var weights = fanIn.AsSpan(layer.Weight.Offset, layer.Weight.Length).ToArray();
            var biases = fanIn.AsSpan(layer.Bias.Offset, layer.Bias.Length).ToArray();
            Assert.IsTrue(weights.All(w => Math.Abs(w) <= limit) && biases.All(b => Math.Abs(b) <= limit), layer.Weight.Name);
            // Uniform on ±limit: the largest draw of many comes close to the limit, so the scale is not smaller either.
            Assert.IsTrue(weights.Max(Math.Abs) > 0.9f * limit, $"{layer.Weight.Name}: largest |w| {weights.Max(Math.Abs)} of limit {limit}");
            Assert.IsTrue(biases.Any(b => b != 0), $"{layer.Bias.Name} is drawn, not zero");
            Assert.IsTrue(glorot.AsSpan(layer.Bias.Offset, layer.Bias.Length).ToArray().All(b => b == 0), $"Glorot leaves {layer.Bias.Name} at zero");
            float glorotLimit = MathF.Sqrt(6f / (layer.Inputs + layer.Outputs));
            Assert.IsTrue(glorot.AsSpan(layer.Weight.Offset, layer.Weight.Length).ToArray().Max(Math.Abs) > Math.Min(limit, glorotLimit) * 0.9f);
        }
        var trainer = Fast();
        trainer.Initialization = (WeightInitialization)7;
        Assert.AreEqual(nameof(VaeTrainerOptions.Initialization), Assert.ThrowsExactly<ArgumentException>(trainer.Validate).ParamName);
    }

    [TestMethod]
    public void TrainingRaisesTheBound()
    {
        var data = TestData.Clusters(256, 10, seed: 1);
        var model = new VaeTrainer(TestData.SmallOptions(), FastWithEpochs(12)).Fit(data);
        Assert.IsTrue(model.History[^1].TrainingBound > model.History[0].TrainingBound + 0.5,
            $"bound went from {model.History[0].TrainingBound} to {model.History[^1].TrainingBound}");
    }

    [TestMethod]
    public void SameSeedAndThreadsGiveIdenticalWeights_OtherSeedsDiffer()
    {
        var data = TestData.Clusters(100, 10, seed: 2);
        var options = Fast();
        options.Binarization = Binarization.Dynamic;
        var first = ParametersOf(new VaeTrainer(TestData.SmallOptions(), options).Fit(data));
        var second = ParametersOf(new VaeTrainer(TestData.SmallOptions(), options).Fit(data));
        CollectionAssert.AreEqual(first, second);
        options.Seed = 2;
        var other = ParametersOf(new VaeTrainer(TestData.SmallOptions(), options).Fit(data));
        CollectionAssert.AreNotEqual(first, other);
    }

    [TestMethod]
    public void ProgressIsReportedPerBatchAndEpoch()
    {
        var data = TestData.Clusters(40, 10, seed: 3);
        var reports = new List<TrainingProgress>();
        new VaeTrainer(TestData.SmallOptions(), Fast()).Fit(data, new Collect<TrainingProgress>(reports));
        Assert.AreEqual(4 * 3, reports.Count); // 4 epochs × ceil(40/16) batches
        Assert.IsTrue(reports.All(r => double.IsFinite(r.Bound) && r.Epochs == 4 && r.BatchesPerEpoch == 3));
        CollectionAssert.AreEqual(new[] { 1, 2, 3, 4 }, reports.Where(r => r.Batch == r.BatchesPerEpoch).Select(r => r.Epoch).ToArray());
    }

    [TestMethod]
    public void CancellationStopsBetweenBatches()
    {
        var data = TestData.Clusters(64, 10, seed: 4);
        using var cancel = new CancellationTokenSource();
        int seen = 0;
        var progress = new Collect<TrainingProgress>([], _ => { if (++seen == 2) cancel.Cancel(); });
        Assert.ThrowsExactly<OperationCanceledException>(() => new VaeTrainer(TestData.SmallOptions(), Fast()).Fit(data, progress, cancel.Token));
        Assert.AreEqual(2, seen);
    }

    [TestMethod]
    public void EarlyStoppingKeepsTheBestValidationEpoch()
    {
        var data = TestData.Clusters(200, 10, seed: 5);
        var options = Fast();
        options.Epochs = 30;
        options.ValidationFraction = 0.25;
        options.EarlyStoppingPatience = 2;
        options.LearningRate = 0.05f; // large steps make validation stall early
        var model = new VaeTrainer(TestData.SmallOptions(), options).Fit(data);
        Assert.IsTrue(model.History.All(h => h.ValidationBound.HasValue));
        double best = model.History.Max(h => h.ValidationBound!.Value);
        // Training stops after exactly `patience` epochs without a better validation bound.
        int bestEpoch = model.History.First(h => h.ValidationBound == best).Epoch;
        Assert.IsTrue(model.History.Count < options.Epochs, "the validation bound should stall well before 30 epochs at this learning rate");
        Assert.AreEqual(bestEpoch + options.EarlyStoppingPatience, model.History.Count, $"best epoch {bestEpoch}");
        // The returned weights are the best epoch's: their validation bound equals the best recorded one.
        var validationRows = ValidationRowsOf(data, options);
        Assert.AreEqual(best, ValidationBound(model, validationRows, options), 1e-4);
    }

    [TestMethod]
    public void DivergingRunThrowsAndReturnsNoModel()
    {
        var data = TestData.Clusters(64, 10, seed: 6);
        var modelOptions = TestData.SmallOptions(DecoderKind.Gaussian, Activation.Relu, learnVariance: true);
        var options = Fast();
        options.LearningRate = 1e30f;
        var e = Assert.ThrowsExactly<TrainingDivergedException>(() => new VaeTrainer(modelOptions, options).Fit(data));
        StringAssert.Contains(e.Message, "LearningRate");
    }

    [TestMethod]
    public void DivergenceInTheLastUpdateThrowsToo()
    {
        // One batch, one epoch: the only bound checked in the loop is the one before the (diverging) update.
        var data = TestData.Clusters(32, 10, seed: 6);
        var modelOptions = TestData.SmallOptions(DecoderKind.Gaussian, Activation.Relu, learnVariance: true);
        var options = Fast();
        (options.Epochs, options.BatchSize, options.LearningRate) = (1, 32, 1e30f);
        var e = Assert.ThrowsExactly<TrainingDivergedException>(() => new VaeTrainer(modelOptions, options).Fit(data));
        StringAssert.Contains(e.Message, "last update");
    }

    [TestMethod]
    public void GradientsStayFiniteWithLargeNegativeLogWeights()
    {
        // 784 Bernoulli features give log weights near −500: the importance weights must be normalised in log space.
        var options = new VaeModelOptions { HiddenSizes = [20], LatentSize = 4 };
        var layout = new ParameterLayout(options, 784);
        using var backend = new ManagedBackend(layout, 2);
        backend.SetParameters(TestData.RandomParameters(layout, 1));
        var x = TestData.Clusters(5, 784, seed: 7);
        var gradient = new float[layout.Count];
        var bounds = new float[5];
        backend.Gradient(x.Values, 5, TestData.Normal(5 * 5 * 4, 8), 5, new ObjectiveSettings(false), bounds, gradient);
        Assert.IsTrue(bounds.All(b => b < -100 && float.IsFinite(b)), string.Join(", ", bounds));
        Assert.IsTrue(gradient.All(float.IsFinite) && gradient.Any(g => g != 0));
    }

    private static float[] ValidationRowsOf(FeatureMatrix data, VaeTrainerOptions options)
    {
        var rows = Enumerable.Range(0, data.Rows).ToArray();
        new Mathematics.RandomSource(options.Seed, 5).Shuffle(rows);
        int count = (int)(data.Rows * options.ValidationFraction);
        return rows[^count..].SelectMany(r => data.Row(r).ToArray()).ToArray();
    }

    private static double ValidationBound(VaeModel model, float[] rows, VaeTrainerOptions options)
    {
        int n = rows.Length / model.InputSize, k = options.SampleCount;
        using var backend = new ManagedBackend(model.Layout, 1);
        backend.SetParameters(model.Parameters);
        var noise = new float[n * k * model.LatentSize];
        var source = new Mathematics.RandomSource(options.Seed, 6);
        double sum = 0;
        for (int start = 0; start < n; start += 100)
        {
            int count = Math.Min(100, n - start);
            var chunkNoise = noise.AsSpan(0, count * k * model.LatentSize);
            source.FillNormal(chunkNoise);
            var logWeights = new float[count * k];
            backend.LogWeights(rows.AsSpan(start * model.InputSize, count * model.InputSize), count, chunkNoise, k, logWeights);
            for (int r = 0; r < count; r++) sum += Mathematics.LogSpace.LogMeanExp(logWeights.AsSpan(r * k, k));
        }
        return sum / n;
    }
}

/// <summary>Synchronous IProgress that records every report.</summary>
internal sealed class Collect<T>(List<T> items, Action<T>? onReport = null) : IProgress<T>
{
    public void Report(T value) { items.Add(value); onReport?.Invoke(value); }
}

[TestClass]
public sealed class RandomSourceTests
{
    [TestMethod]
    public void BernoulliDrawsHaveTheRequestedFrequencies()
    {
        var probabilities = new[] { 0f, 0.1f, 0.5f, 0.9f, 1f };
        var source = new Mathematics.RandomSource(3, 1);
        var sums = new double[probabilities.Length];
        var draw = new float[probabilities.Length];
        const int draws = 40000;
        for (int n = 0; n < draws; n++)
        {
            source.FillBernoulli(probabilities, draw); // odd length: the last value takes the single-draw path
            for (int i = 0; i < draw.Length; i++) sums[i] += draw[i];
        }
        for (int i = 0; i < probabilities.Length; i++)
        {
            double p = probabilities[i], tolerance = 4 * Math.Sqrt(p * (1 - p) / draws) + 1e-9;
            Assert.AreEqual(p, sums[i] / draws, tolerance, $"p = {p}");
        }
    }

    [TestMethod]
    public void BernoulliDrawsFollowTheDocumentedStreamAtEveryPosition()
    {
        // 787 pixels: whole vectors, a ragged end and the odd last value. Each 64-bit draw gives bits 40–63 to one pixel
        // and bits 8–31 to the next, so a seed reproduces the binarisation of earlier versions.
        var random = new Random(11);
        float[] probabilities = Enumerable.Range(0, 787).Select(_ => (float)random.NextDouble()).ToArray();
        float[] draw = new float[probabilities.Length];
        new Mathematics.RandomSource(8, 2).FillBernoulli(probabilities, draw);
        var twin = new Mathematics.RandomSource(8, 2);
        for (int i = 0; i < probabilities.Length; i += 2)
        {
            if (i + 1 == probabilities.Length)
            {
                Assert.AreEqual(twin.NextFloat() < probabilities[i] ? 1f : 0f, draw[i], "the last, odd pixel");
                break;
            }
            ulong bits = twin.NextUInt64();
            Assert.AreEqual((bits >> 40) / 16777216f < probabilities[i] ? 1f : 0f, draw[i], $"pixel {i}");
            Assert.AreEqual(((bits >> 8) & 0xFFFFFF) / 16777216f < probabilities[i + 1] ? 1f : 0f, draw[i + 1], $"pixel {i + 1}");
        }
        Assert.ThrowsExactly<ArgumentException>(() => new Mathematics.RandomSource(1).FillBernoulli(probabilities, probabilities));
    }
}
