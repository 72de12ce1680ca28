using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.LibTorch;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Mathematics;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>
/// The libtorch device loop (VaeTrainerOptions.TrainOnDevice) on libtorch's CPU against the managed engine driven
/// with the same shuffling, binarisation and noise, drawn on the host by <see cref="CounterRandom"/>: the same bounds
/// at every step and the same parameters after the last, to float32 rounding. Needs the shim, as the other libtorch
/// tests do.
/// </summary>
[TestClass]
public sealed class LibTorchDeviceLoopTests
{
    private const int Features = 7;

    public static IEnumerable<object[]> Cases()
    {
        // decoder, learned variance, binarization, K, estimator, objective, groups, prior, analytic KL
        yield return [DecoderKind.Bernoulli, false, Binarization.Dynamic, 3, GradientEstimator.Reparameterization, TrainingObjective.Iwae, 1, PriorKind.Standard, false];
        yield return [DecoderKind.Bernoulli, false, Binarization.None, 5, GradientEstimator.DoublyReparameterized, TrainingObjective.Iwae, 1, PriorKind.Standard, false];
        yield return [DecoderKind.Gaussian, true, Binarization.None, 4, GradientEstimator.StickingTheLanding, TrainingObjective.Iwae, 1, PriorKind.Standard, false];
        yield return [DecoderKind.Gaussian, false, Binarization.None, 1, GradientEstimator.Reparameterization, TrainingObjective.Iwae, 1, PriorKind.Standard, true];
        yield return [DecoderKind.Gaussian, false, Binarization.None, 4, GradientEstimator.Reparameterization, TrainingObjective.Miwae, 2, PriorKind.LearnedGaussian, false];
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void DeviceLoopMatchesTheManagedEngineStepByStep(DecoderKind decoder, bool learnVariance, Binarization binarization, int k,
        GradientEstimator estimator, TrainingObjective objective, int groups, PriorKind prior, bool analyticKl)
    {
        var data = TestData.Clusters(45, Features, seed: 81);
        var modelOptions = TestData.SmallOptions(decoder, Activation.Tanh, learnVariance);
        modelOptions.Prior = prior;
        var options = DeviceOptions(binarization, k);
        (options.GradientEstimator, options.Objective, options.ObjectiveGroups, options.AnalyticKl) = (estimator, objective, groups, analyticKl);

        var (expectedParameters, expectedMeans) = ReplayOnManagedEngine(modelOptions, options, data);
        var initial = new ParameterLayout(modelOptions, Features).Initialize(new RandomSource(options.Seed, VaeTrainer.InitializationStream), options.Initialization);
        Assert.IsTrue(expectedParameters.Zip(initial).Max(p => Math.Abs(p.First - p.Second)) > 0.02, "ten steps of 5e-3 should move the parameters");

        // Batch 10 of 45 rows: 5 batches per epoch, the last of 5 rows. Read back after every batch (each run one step,
        // its step count set by the host), then once per epoch: one run of five steps called with the same host
        // arguments, the step count and the position advanced on the device, as a replayed CUDA graph needs.
        foreach (int interval in new[] { 1, 5 })
        {
            options.DeviceReportInterval = interval;
            var progress = new ProgressRecorder();
            using var model = new VaeTrainer(modelOptions, options).Fit(data, progress);
            Assert.IsTrue(progress.Reports.All(p => p.TrainingLoop == "device"), progress.Reports[0].TrainingLoop);
            Assert.AreEqual(2 * 5 / interval, progress.Reports.Count, $"reports at interval {interval}");
            foreach (var report in progress.Reports)
            {
                double expected = expectedMeans[(report.Epoch - 1) * 5 + report.Batch - 1];
                Assert.AreEqual(expected, report.Bound, 1e-4 * Math.Abs(expected), $"interval {interval}: mean bound of epoch {report.Epoch} after batch {report.Batch}");
            }
            LibTorchEngineTests.AssertClose(expectedParameters, model.Parameters.ToArray(), $"parameters after ten steps, interval {interval}", model.Layout, relative: 1e-3f);
        }
    }

    [TestMethod]
    public void RowsUploadedInChunksTrainAsRowsUploadedAtOnce()
    {
        var data = TestData.Clusters(23, Features, seed: 82);
        var layout = new ParameterLayout(TestData.SmallOptions(), Features);
        var parameters = TestData.RandomParameters(layout, 83);
        var rows = Enumerable.Range(0, data.Rows).Reverse().ToArray();
        var settings = LoopSettings(rows.Length, batchSize: 4, samples: 3, dynamicBinarization: 1);
        float[] Train(long chunkBytes)
        {
            using var backend = LibTorchEngineTests.CreateLibTorch(layout);
            backend.SetParameters(parameters);
            backend.OpenDeviceLoop(settings, data.Values, rows, chunkBytes);
            backend.ShuffleDeviceLoop(1);
            var report = backend.RunDeviceLoop(0, 6, 1, checkLastUpdate: true);
            Assert.AreEqual(23, report.Rows);
            Assert.IsTrue(double.IsFinite(report.BoundSum) && double.IsFinite(report.LastBatchBoundSum));
            backend.CloseDeviceLoop();
            var trained = new float[layout.Count];
            backend.GetParameters(trained);
            return trained;
        }
        // Three rows of seven floats per chunk: eight uploads.
        CollectionAssert.AreEqual(Train(LibTorchBackend.UploadChunkBytes), Train(3 * Features * sizeof(float)));
    }

    [TestMethod]
    public void HowAnEpochIsCutIntoRunsChangesNothing()
    {
        // 23 rows in batches of 4: five full batches and a short one of 3. The step runs with no argument that changes
        // per batch (what a CUDA graph of it would replay): the Adam step and the position in the order are device
        // counters that a run sets once and each step advances, so every way of cutting the epochs into runs trains alike.
        var data = TestData.Clusters(23, Features, seed: 92);
        var layout = new ParameterLayout(TestData.SmallOptions(), Features);
        var parameters = TestData.RandomParameters(layout, 93);
        var settings = LoopSettings(data.Rows, batchSize: 4, samples: 3, dynamicBinarization: 1);
        (float[] Parameters, double BoundSum, long Rows) Train(int[] runLengths, long firstStep)
        {
            using var backend = LibTorchEngineTests.CreateLibTorch(layout);
            backend.SetParameters(parameters);
            backend.OpenDeviceLoop(settings, data.Values, Enumerable.Range(0, data.Rows).ToArray());
            double boundSum = 0;
            long rows = 0, step = firstStep;
            for (int epoch = 1; epoch <= 2; epoch++)
            {
                backend.ShuffleDeviceLoop(epoch);
                int first = 0;
                foreach (int count in runLengths)
                {
                    var report = backend.RunDeviceLoop(first, count, step, checkLastUpdate: false);
                    (boundSum, rows, first, step) = (boundSum + report.BoundSum, rows + report.Rows, first + count, step + count);
                }
            }
            var trained = new float[layout.Count];
            backend.GetParameters(trained);
            return (trained, boundSum, rows);
        }
        var whole = Train([6], firstStep: 1);
        Assert.AreEqual(46, whole.Rows);
        foreach (var runs in new[] { new[] { 1, 1, 1, 1, 1, 1 }, [2, 4], [5, 1] })
        {
            var cut = Train(runs, firstStep: 1);
            string name = string.Join(" + ", runs);
            CollectionAssert.AreEqual(whole.Parameters, cut.Parameters, $"runs of {name} batches");
            Assert.AreEqual(whole.Rows, cut.Rows, name);
            Assert.AreEqual(whole.BoundSum, cut.BoundSum, 1e-12 * Math.Abs(whole.BoundSum), name);
        }
        // The step a run begins with reaches the device: it keys the noise and the binarisation and Adam's correction.
        CollectionAssert.AreNotEqual(whole.Parameters, Train([6], firstStep: 101).Parameters, "a run from step 101");
    }

    [TestMethod]
    public void TheLastUpdateCheckScoresTheLastBatchOfEitherShape()
    {
        // 23 rows in batches of 10: two full batches and a short one of 3, each shape with buffers of its own. After
        // each run the check scores the run's last batch with the updated parameters and that batch's noise, which the
        // managed engine recomputes from the generator's draws.
        var data = TestData.Clusters(23, Features, seed: 94);
        var layout = new ParameterLayout(TestData.SmallOptions(DecoderKind.Gaussian), Features);
        const int k = 3;
        var settings = LoopSettings(data.Rows, batchSize: 10, samples: k, dynamicBinarization: 0);
        using var backend = LibTorchEngineTests.CreateLibTorch(layout);
        using var managed = new ManagedBackend(layout, threads: 1);
        backend.SetParameters(TestData.RandomParameters(layout, 95));
        backend.OpenDeviceLoop(settings, data.Values, Enumerable.Range(0, data.Rows).ToArray());
        var trained = new float[layout.Count];
        // (epoch, first batch, batches, Adam step of the first): ending on a full batch, the short one, a full one again.
        foreach (var (epoch, first, count, step) in new[] { (1, 0, 2, 1L), (1, 2, 1, 3L), (2, 0, 1, 4L), (2, 1, 2, 5L) })
        {
            if (first == 0) backend.ShuffleDeviceLoop(epoch);
            var report = backend.RunDeviceLoop(first, count, step, checkLastUpdate: true);
            int lastBatch = first + count - 1, start = lastBatch * 10, rows = Math.Min(10, data.Rows - start);
            Assert.AreEqual(count == 1 ? rows : 10 + rows, report.Rows, $"rows of the run ending with batch {lastBatch}");

            backend.GetParameters(trained);
            managed.SetParameters(trained);
            int[] order = new CounterRandom(settings.Seed, settings.ShuffleStream, epoch).Permutation(data.Rows);
            var x = order.Skip(start).Take(rows).SelectMany(r => data.Values.Skip(r * Features).Take(Features)).ToArray();
            var noise = new float[rows * k * layout.LatentSize];
            new CounterRandom(settings.Seed, settings.NoiseStream, step + count - 1).FillNormal(noise);
            var weights = new float[rows * k];
            managed.LogWeights(x, rows, noise, k, weights);
            double expected = Enumerable.Range(0, rows).Sum(r => LogSpace.LogMeanExp(weights.AsSpan(r * k, k)));
            Assert.AreEqual(expected, report.LastBatchBoundSum, 1e-4 * Math.Abs(expected), $"epoch {epoch}, batch {lastBatch} of {rows} rows");
        }
    }

    [TestMethod]
    public void ALoopThatDoesNotFitInMemorySaysWhatToChange()
    {
        var layout = new ParameterLayout(TestData.SmallOptions(), Features);
        var data = TestData.Clusters(23, Features, seed: 91);
        using var backend = LibTorchEngineTests.CreateLibTorch(layout);
        // 23 x 2^31 samples of 3 latent values: the noise buffer alone would take 550 GiB.
        var settings = new NativeLoopSettings
        {
            Rows = data.Rows, BatchSize = 23, Samples = int.MaxValue, Seed = 1, ShuffleStream = 2, BinarizationStream = 3, NoiseStream = 4,
            Objective = new NativeObjective(new ObjectiveSettings(false)), LearningRate = 1e-3f, Beta1 = 0.9f, Beta2 = 0.999f, Epsilon = 1e-4f,
        };
        var e = Assert.ThrowsExactly<OutOfMemoryException>(() => backend.OpenDeviceLoop(settings, data.Values, Enumerable.Range(0, data.Rows).ToArray()));
        StringAssert.Contains(e.Message, "TrainOnDevice = false");
        StringAssert.Contains(e.Message, "cpu");
    }

    [TestMethod]
    public void DivergingDeviceRunThrowsAndReturnsNoModel()
    {
        var data = TestData.Clusters(64, 10, seed: 6);
        var modelOptions = TestData.SmallOptions(DecoderKind.Gaussian, Activation.Relu, learnVariance: true);
        var options = DeviceOptions(Binarization.None, 2);
        options.LearningRate = 1e30f;
        var e = Assert.ThrowsExactly<TrainingDivergedException>(() => new VaeTrainer(modelOptions, options).Fit(data));
        StringAssert.Contains(e.Message, "LearningRate");
        StringAssert.Contains(e.Message, "at epoch 1, in batches 2 to 2: the bound became");

        // One batch, one epoch: the only bound read in the loop is the one before the (diverging) update.
        (options.Epochs, options.BatchSize) = (1, 64);
        e = Assert.ThrowsExactly<TrainingDivergedException>(() => new VaeTrainer(modelOptions, options).Fit(data));
        StringAssert.Contains(e.Message, "last update");
    }

    [TestMethod]
    public void ValidationScoresOnTheHostPathBetweenDeviceEpochsAndCancellationStopsTheLoop()
    {
        var data = TestData.Clusters(50, Features, seed: 90);
        var options = DeviceOptions(Binarization.Dynamic, 2);
        (options.ValidationFraction, options.Epochs, options.DeviceReportInterval) = (0.2, 3, 3);
        var progress = new ProgressRecorder();
        using var model = new VaeTrainer(TestData.SmallOptions(), options).Fit(data, progress);
        Assert.AreEqual(3, model.History.Count);
        Assert.IsTrue(model.History.All(h => h.ValidationBound is double v && double.IsFinite(v)), "every epoch has a validation bound");
        Assert.IsTrue(progress.Reports.All(p => p.TrainingLoop == "device"));
        // 40 training rows in batches of 10 read back every 3 batches: after the third, and the fourth at the epoch's end.
        CollectionAssert.AreEqual(new[] { 3, 4, 3, 4, 3, 4 }, progress.Reports.Select(p => p.Batch).ToArray());
        using var again = new VaeTrainer(TestData.SmallOptions(), options).Fit(data);
        CollectionAssert.AreEqual(model.Parameters.ToArray(), again.Parameters.ToArray(), "a seed reproduces a device run");

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsExactly<OperationCanceledException>(() => new VaeTrainer(TestData.SmallOptions(), options).Fit(data, cancellationToken: cancelled.Token));
    }

    [TestMethod]
    public void OptionsTheDeviceLoopDoesNotRunTrainOnTheHostLoopAndSaySo()
    {
        var data = TestData.Clusters(30, Features, seed: 85);
        var modelOptions = TestData.SmallOptions();
        var options = DeviceOptions(Binarization.None, 2);
        options.GradientEstimator = GradientEstimator.ScoreFunction;
        var progress = new ProgressRecorder();
        using var fallback = new VaeTrainer(modelOptions, options).Fit(data, progress);
        StringAssert.StartsWith(progress.Reports[0].TrainingLoop, "host (the device loop does not run the score-function estimator");
        options.TrainOnDevice = false;
        using var host = new VaeTrainer(modelOptions, options).Fit(data);
        CollectionAssert.AreEqual(host.Parameters.ToArray(), fallback.Parameters.ToArray(), "the fallback is the host loop");

        options.TrainOnDevice = true;
        (options.GradientEstimator, options.Engine) = (GradientEstimator.Reparameterization, EngineKind.Managed);
        progress = new ProgressRecorder();
        using var managed = new VaeTrainer(modelOptions, options).Fit(data, progress);
        StringAssert.StartsWith(progress.Reports[0].TrainingLoop, "host (the device loop needs the libtorch engine");

        var categorical = new VaeModelOptions { HiddenSizes = [5], Latent = LatentKind.Categorical, LatentSize = 2, CategoryCount = 3 };
        (options.Engine, options.AnalyticKl, options.SampleCount) = (EngineKind.LibTorch, true, 1);
        progress = new ProgressRecorder();
        using var relaxed = new VaeTrainer(categorical, options).Fit(data, progress);
        StringAssert.StartsWith(progress.Reports[0].TrainingLoop, "host (the device loop trains Gaussian latents only");
    }

    [TestMethod]
    [DataRow(3, 5000, false)]   // two passes of 2500 samples per row
    [DataRow(9, 40, false)]     // many rows per pass
    [DataRow(5, 40, true)]
    public void DeviceScoringMatchesTheManagedEngineGivenTheSameNoise(int rows, int k, bool sharedNoise)
    {
        var x = TestData.Clusters(rows, Features, seed: 86);
        var layout = new ParameterLayout(TestData.SmallOptions(DecoderKind.Gaussian, Activation.Softplus, learnVariance: true), Features);
        var parameters = TestData.RandomParameters(layout, 87);
        using var libTorch = LibTorchEngineTests.CreateLibTorch(layout);
        using var managed = new ManagedBackend(layout, threads: 2);
        libTorch.SetParameters(parameters);
        managed.SetParameters(parameters);
        const int seed = 88;
        const long stream = 9, firstCounter = 1000;
        var scores = new float[rows];
        libTorch.LogLikelihoodOnDevice(x.Values, rows, k, seed, stream, firstCounter, sharedNoise, scores);

        var noise = new float[k * layout.LatentSize];
        var weights = new float[k];
        for (int r = 0; r < rows; r++)
        {
            new CounterRandom(seed, stream, sharedNoise ? firstCounter : firstCounter + r).FillNormal(noise);
            managed.LogWeights(x.Values.AsSpan(r * Features, Features), 1, noise, k, weights);
            double expected = LogSpace.LogMeanExp(weights);
            Assert.AreEqual(expected, scores[r], 1e-4 * (1 + Math.Abs(expected)), $"log-likelihood of row {r}");
        }
        Assert.AreNotEqual(scores[0], scores[1], "rows differ");
    }

    [TestMethod]
    public void ModelsScoreOnTheDeviceOnlyOnTheLibTorchEngine()
    {
        var data = TestData.Clusters(6, Features, seed: 89);
        var options = DeviceOptions(Binarization.None, 2);
        options.Epochs = 1;
        using var model = new VaeTrainer(TestData.SmallOptions(DecoderKind.Gaussian), options).Fit(data);
        float[] scores = model.LogLikelihoodOnDevice(data, sampleCount: 30, seed: 5);
        using var libTorch = LibTorchEngineTests.CreateLibTorch(model.Layout);
        libTorch.SetParameters(model.Parameters);
        var expected = new float[data.Rows];
        libTorch.LogLikelihoodOnDevice(data.Values, data.Rows, 30, 5, stream: 0, firstCounter: 0, sharedNoise: false, expected);
        CollectionAssert.AreEqual(expected, scores, "row i draws from key (seed, 0, i)");
        // The same estimator as the host's, with other draws: close, not equal.
        float[] host = model.LogLikelihood(data, sampleCount: 30, seed: 5);
        for (int r = 0; r < data.Rows; r++) Assert.AreEqual(host[r], scores[r], 0.05 * Math.Abs(host[r]), $"row {r}");
        CollectionAssert.AreNotEqual(host, scores);

        using var managed = model.UseEngine(EngineKind.Managed);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => managed.LogLikelihoodOnDevice(data));
        StringAssert.Contains(e.Message, "UseEngine(EngineKind.LibTorch)");
    }

    private static NativeLoopSettings LoopSettings(int rows, int batchSize, int samples, int dynamicBinarization) => new()
    {
        Rows = rows, BatchSize = batchSize, Samples = samples, Seed = 96, DynamicBinarization = dynamicBinarization, ShuffleStream = 2,
        BinarizationStream = 3, NoiseStream = 4, Objective = new NativeObjective(new ObjectiveSettings(false)), LearningRate = 1e-2f,
        Beta1 = 0.9f, Beta2 = 0.999f, Epsilon = 1e-4f,
    };

    private static VaeTrainerOptions DeviceOptions(Binarization binarization, int k) => new()
    {
        SampleCount = k,
        Epochs = 2,
        BatchSize = 10,
        LearningRate = 5e-3f,
        Binarization = binarization,
        Seed = 80,
        Threads = 2,
        Engine = EngineKind.LibTorch,
        Device = "cpu",
        FallbackToCpu = false,
        TrainOnDevice = true,
        DeviceReportInterval = 1,
    };

    /// <summary>
    /// The device loop's training on the managed engine: the order, binarisation and noise drawn on the host by
    /// <see cref="CounterRandom"/> with the keys the device uses. Returns the parameters after the last step and the
    /// epoch's running mean bound after each batch.
    /// </summary>
    private static (float[] Parameters, List<double> RunningMeans) ReplayOnManagedEngine(VaeModelOptions modelOptions, VaeTrainerOptions options, FeatureMatrix data)
    {
        var layout = new ParameterLayout(modelOptions, data.Columns);
        using var managed = new ManagedBackend(layout, threads: 2);
        managed.SetParameters(layout.Initialize(new RandomSource(options.Seed, VaeTrainer.InitializationStream), options.Initialization));
        int rows = data.Rows, f = data.Columns, k = options.SampleCount, d = layout.LatentSize, batchSize = options.BatchSize;
        var objective = new ObjectiveSettings(options.AnalyticKl)
        {
            Objective = options.Objective, Groups = options.ObjectiveGroups, CiwaeBeta = options.CiwaeBeta, Estimator = options.GradientEstimator,
        };
        var batch = new float[batchSize * f];
        var noise = new float[batchSize * k * d];
        var bounds = new float[batchSize];
        var means = new List<double>();
        long step = 0;
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            int[] order = new CounterRandom(options.Seed, VaeTrainer.ShuffleStream, epoch).Permutation(rows);
            double sum = 0;
            int seen = 0;
            for (int start = 0; start < rows; start += batchSize)
            {
                int count = Math.Min(batchSize, rows - start);
                step++;
                var binarization = new CounterRandom(options.Seed, VaeTrainer.BinarizationStream, step);
                for (int i = 0; i < count; i++)
                {
                    var source = data.Values.AsSpan(order[start + i] * f, f);
                    if (options.Binarization == Binarization.Dynamic) binarization.FillBernoulli(source, batch.AsSpan(i * f, f), i * f);
                    else source.CopyTo(batch.AsSpan(i * f));
                }
                new CounterRandom(options.Seed, VaeTrainer.NoiseStream, step).FillNormal(noise.AsSpan(0, count * k * d));
                var adam = new AdamSettings(options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, step);
                managed.TrainStep(batch.AsSpan(0, count * f), count, noise.AsSpan(0, count * k * d), k, objective, adam, bounds);
                for (int i = 0; i < count; i++) sum += bounds[i];
                seen += count;
                means.Add(sum / seen);
            }
        }
        var parameters = new float[layout.Count];
        managed.GetParameters(parameters);
        return (parameters, means);
    }

    /// <summary>Records reports synchronously (Progress&lt;T&gt; would post them to the thread pool).</summary>
    private sealed class ProgressRecorder : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = [];

        public void Report(TrainingProgress value) => Reports.Add(value);
    }
}
