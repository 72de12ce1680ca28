using Microsoft.ML.Vae.Anomaly;
using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Tests;

[TestClass]
public class AnomalyDetectorTests
{
    private const int Columns = 12;

    private static VaeAnomalyDetectorOptions SmallOptions(AnomalyScoreKind score = AnomalyScoreKind.NegativeLogLikelihood) => new()
    {
        Model = new VaeModelOptions { HiddenSizes = [16], LatentSize = 2, Decoder = DecoderKind.Gaussian, LearnDecoderVariance = true, DecoderVariance = 0.05f },
        Trainer = new VaeTrainerOptions { Epochs = 30, SampleCount = 2, BatchSize = 20, LearningRate = 5e-3f, Threads = 1, Seed = 3 },
        Score = score,
        EvaluationSampleCount = 20,
        CalibrationFraction = 0.2,
        TargetFalsePositiveRate = 0.05,
    };

    [TestMethod]
    public void DivergedTrainingIsReportedAsDivergence()
    {
        // All 80 training rows in one batch and one epoch: only the last update can diverge.
        var options = SmallOptions();
        (options.Trainer.Epochs, options.Trainer.BatchSize, options.Trainer.LearningRate) = (1, 100, 1e30f);
        Assert.ThrowsExactly<TrainingDivergedException>(() => new VaeAnomalyTrainer(options).Fit(TestData.Clusters(100, Columns, 1)));
    }

    [TestMethod]
    public void BackgroundRowsReplaceTheGivenFractionOfValuesByUniformDrawsOverEachFeaturesRange()
    {
        // Ren et al.'s perturbation: each value is replaced with probability r by a draw from U(low_c, high_c).
        const int rows = 4000;
        const double rate = 0.3;
        float[] low = [-2, 0, 5], high = [2, 1, 105];
        var values = new float[rows * 3];
        var random = new RandomSource(4, 1);
        for (int i = 0; i < values.Length; i++) values[i] = low[i % 3] + random.NextFloat() * (high[i % 3] - low[i % 3]);
        for (int c = 0; c < 3; c++) (values[c], values[3 + c]) = (low[c], high[c]); // the range is attained
        var training = new FeatureMatrix(values, rows, 3);
        var background = VaeAnomalyTrainer.Perturb(training, rate, new RandomSource(7, 2));
        for (int c = 0; c < 3; c++)
        {
            var changed = Enumerable.Range(0, rows).Where(r => background.Values[r * 3 + c] != values[r * 3 + c]).Select(r => (double)background.Values[r * 3 + c]).ToArray();
            // Binomial count: within 4.5 standard deviations of n·r.
            Assert.AreEqual(rows * rate, changed.Length, 4.5 * Math.Sqrt(rows * rate * (1 - rate)), $"feature {c}: replaced count");
            // Uniform on [low, high]: mean (low+high)/2 and variance (high−low)²/12, each within 4.5 standard errors.
            double width = high[c] - low[c], mean = changed.Average(), variance = changed.Average(v => (v - mean) * (v - mean));
            Assert.AreEqual((low[c] + high[c]) / 2, mean, 4.5 * width / Math.Sqrt(12 * changed.Length), $"feature {c}: mean of the draws");
            Assert.AreEqual(width * width / 12, variance, 4.5 * width * width / Math.Sqrt(180 * changed.Length), $"feature {c}: variance of the draws");
            Assert.IsTrue(changed.All(v => v >= low[c] && v <= high[c]), $"feature {c}: a draw outside the training range");
        }
    }

    /// <summary>Rows with no cluster structure: each feature uniform in [0, 1].</summary>
    private static FeatureMatrix Uniform(int rows, int seed)
    {
        var values = new float[rows * Columns];
        new RandomSource(seed, 8).FillUniform(values, 0, 1);
        return new FeatureMatrix(values, rows, Columns);
    }

    private static (FeatureMatrix Rows, bool[] IsAnomaly) Mixed(int normal, int anomalous, int seed)
    {
        var a = TestData.Clusters(normal, Columns, seed);
        var b = Uniform(anomalous, seed);
        return (new FeatureMatrix([.. a.Values, .. b.Values], normal + anomalous, Columns),
            [.. Enumerable.Repeat(false, normal), .. Enumerable.Repeat(true, anomalous)]);
    }

    /// <summary>log p(x) as a detector estimates it: its K and seed, the same noise for every row.</summary>
    private static float[] SharedNoiseLogLikelihood(VaeModel model, FeatureMatrix rows, VaeAnomalyDetector detector)
    {
        var result = new float[rows.Rows];
        model.LogLikelihood(rows.Values, rows.Rows, result, detector.EvaluationSampleCount, detector.ScoringSeed, sharedNoise: true);
        return result;
    }

    [TestMethod]
    [DataRow(AnomalyScoreKind.NegativeLogLikelihood)]
    [DataRow(AnomalyScoreKind.LikelihoodRatio)]
    [DataRow(AnomalyScoreKind.LikelihoodAndLatentDistance)]
    [DataRow(AnomalyScoreKind.LatentNeighbourDistance)]
    public void RowsUnlikeTheTrainingDataScoreHigherAndTheThresholdKeepsFalsePositivesNearTheTarget(AnomalyScoreKind score)
    {
        using var detector = new VaeAnomalyTrainer(SmallOptions(score)).Fit(TestData.Clusters(400, Columns, 1));
        var (rows, isAnomaly) = Mixed(400, 100, 2);

        var predictions = detector.Predict(rows);
        var metrics = AnomalyEvaluator.Evaluate(predictions.Select(p => p.Score).ToArray(), isAnomaly, detector.Threshold);

        Assert.IsTrue(metrics.AreaUnderRocCurve > 0.95, $"AUROC {metrics.AreaUnderRocCurve}");
        Assert.IsTrue(metrics.FalsePositiveRate < 0.15, $"false-positive rate {metrics.FalsePositiveRate} for a 5% target");
        Assert.IsTrue(metrics.DetectionRate > 0.8, $"detection rate {metrics.DetectionRate}");
        for (int i = 0; i < predictions.Length; i++)
            Assert.AreEqual(predictions[i].Score > detector.Threshold, predictions[i].PredictedLabel);
        Assert.AreEqual(score == AnomalyScoreKind.LikelihoodRatio, detector.BackgroundModel is not null);
    }

    [TestMethod]
    [DataRow(200, 13)]   // 320 training rows, batches of 20: ceil(200·20/320) = 13 epochs
    [DataRow(20, 10)]    // 2 epochs' worth of steps: at least 10 epochs
    [DataRow(null, 30)]  // Trainer.Epochs as given
    public void TrainingStepsChooseTheEpochsFromTheTrainingRows(int? steps, int expectedEpochs)
    {
        var options = SmallOptions();
        options.TrainingSteps = steps;
        using var detector = new VaeAnomalyTrainer(options).Fit(TestData.Clusters(400, Columns, 1));
        Assert.AreEqual(expectedEpochs, detector.Model.History.Count);
    }

    [TestMethod]
    public void TheLikelihoodRatioSubtractsTheBackgroundModelsLogLikelihood()
    {
        using var detector = new VaeAnomalyTrainer(SmallOptions(AnomalyScoreKind.LikelihoodRatio)).Fit(TestData.Clusters(200, Columns, 1));
        var rows = Mixed(20, 20, 4).Rows;
        var own = SharedNoiseLogLikelihood(detector.Model, rows, detector);
        var background = SharedNoiseLogLikelihood(detector.BackgroundModel!, rows, detector);
        var scores = detector.Score(rows);
        for (int i = 0; i < scores.Length; i++) Assert.AreEqual(background[i] - own[i], scores[i], 1e-4);
    }

    [TestMethod]
    public void TheCombinedScoreAddsTheStandardisedLatentDistanceToTheStandardisedNegativeLogLikelihood()
    {
        var data = TestData.Clusters(300, Columns, 1);
        using var detector = new VaeAnomalyTrainer(SmallOptions(AnomalyScoreKind.LikelihoodAndLatentDistance)).Fit(data);
        var (rows, _) = Mixed(40, 40, 4);
        var scores = detector.Score(rows);
        var negativeLogLikelihood = SharedNoiseLogLikelihood(detector.Model, rows, detector).Select(v => -(double)v).ToArray();
        // The score must be exactly a + b·(-log p) + c·distance with positive b and c (both terms standardised).
        var embeddings = detector.Model.Embed(rows);
        var distance = detector.LatentDistance!.Latent.SquaredDistance(embeddings);
        var (a, b, c, residual) = LeastSquares(negativeLogLikelihood, distance.Select(v => (double)v).ToArray(), scores.Select(v => (double)v).ToArray());
        Assert.IsTrue(b > 0 && c > 0, $"weights {b}, {c}");
        Assert.IsTrue(residual < 1e-3, $"residual {residual}: the score is not affine in the two terms");
    }

    /// <summary>Fits y ≈ a + b·u + c·v by the normal equations; returns the weights and the largest residual.</summary>
    private static (double A, double B, double C, double Residual) LeastSquares(double[] u, double[] v, double[] y)
    {
        int n = y.Length;
        var m = new double[3, 4];
        for (int i = 0; i < n; i++)
        {
            double[] row = [1, u[i], v[i]];
            for (int r = 0; r < 3; r++)
            {
                for (int col = 0; col < 3; col++) m[r, col] += row[r] * row[col];
                m[r, 3] += row[r] * y[i];
            }
        }
        for (int p = 0; p < 3; p++)
            for (int r = 0; r < 3; r++)
            {
                if (r == p) continue;
                double f = m[r, p] / m[p, p];
                for (int col = 0; col < 4; col++) m[r, col] -= f * m[p, col];
            }
        double a = m[0, 3] / m[0, 0], b = m[1, 3] / m[1, 1], c = m[2, 3] / m[2, 2];
        double residual = Enumerable.Range(0, n).Max(i => Math.Abs(y[i] - (a + b * u[i] + c * v[i])));
        return (a, b, c, residual);
    }

    [TestMethod]
    public void TheLatentGaussianMeasuresSquaredMahalanobisDistance()
    {
        // Independent coordinates with deviations 1, 2 and 0.5 around (1, -1, 3).
        const int n = 20000;
        var noise = TestData.Normal(n * 3, 11);
        double[] deviation = [1, 2, 0.5], centre = [1, -1, 3];
        var values = new float[n * 3];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(centre[i % 3] + deviation[i % 3] * noise[i]);
        var latent = LatentGaussian.Fit(new FeatureMatrix(values, n, 3));

        var probes = latent.SquaredDistance(new FeatureMatrix([1f, -1f, 3f, 1f, 5f, 3f, 1f, -1f, 2f], 3, 3));
        Assert.AreEqual(0, probes[0], 0.01, "the centre");
        Assert.AreEqual(9, probes[1], 0.3, "three deviations along the second axis");
        Assert.AreEqual(4, probes[2], 0.15, "two deviations along the third axis");
        Assert.AreEqual(3, latent.SquaredDistance(new FeatureMatrix(values, n, 3)).Average(), 0.05, "on the fitted rows the mean is the dimension");
    }

    [TestMethod]
    public void WhitenedRowsHaveIdentityCovariance()
    {
        // Correlated rows: u = A·z with z standard normal, so the covariance is A·Aᵀ (variances well above the ridge).
        const int n = 20000, d = 3;
        var z = TestData.Normal(n * d, 12);
        double[,] a = { { 2, 0, 0 }, { 1, 1, 0 }, { -1, 0.5, 1 } };
        var values = new float[n * d];
        for (int r = 0; r < n; r++)
            for (int i = 0; i < d; i++)
            {
                double sum = 5 * i;
                for (int j = 0; j < d; j++) sum += a[i, j] * z[r * d + j];
                values[r * d + i] = (float)sum;
            }
        var white = Whitening.Fit(new FeatureMatrix(values, n, d)).Apply(new FeatureMatrix(values, n, d));
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                double covariance = 0;
                for (int r = 0; r < n; r++) covariance += white.Values[r * d + i] * white.Values[r * d + j];
                Assert.AreEqual(i == j ? 1.0 : 0.0, covariance / (n - 1), 0.01, $"covariance [{i}, {j}]");
            }
    }

    [TestMethod]
    public void TheNeighbourScoreOfATrainingRowAgainstItselfIsZeroAndGrowsWithDistance()
    {
        var options = SmallOptions(AnomalyScoreKind.LatentNeighbourDistance);
        options.NeighbourCount = 1;
        options.CalibrationFraction = 0.1;
        var data = TestData.Clusters(200, Columns, 1);
        using var detector = new VaeAnomalyTrainer(options).Fit(data);
        // Every training row has itself as nearest reference row, so at k = 1 at least 90% of the given rows (the
        // training part) score exactly 0, and rows with no cluster structure score above all of them.
        var scores = detector.Score(data);
        Assert.IsTrue(scores.Count(s => s == 0) >= 180, $"{scores.Count(s => s == 0)} rows at distance 0");
        Assert.IsTrue(detector.Score(Uniform(50, 3)).Average() > scores.Max());
    }

    [TestMethod]
    public void ContaminationSetsTheThresholdToFlagThatFractionOfHeldOutRows()
    {
        var options = SmallOptions();
        options.TargetFalsePositiveRate = null;
        options.Contamination = 0.2;
        var (rows, _) = Mixed(320, 80, 5);
        using var detector = new VaeAnomalyTrainer(options).Fit(rows);
        // The threshold is an upper quantile of held-out training scores: about 20% of the training rows lie above it.
        var flagged = detector.Score(rows).Count(s => s > detector.Threshold) / (double)rows.Rows;
        Assert.IsTrue(flagged > 0.1 && flagged < 0.3, $"{flagged:P1} flagged for a contamination of 20%");
    }

    [TestMethod]
    public void CalibrateSetsTheThresholdFromTheGivenRows()
    {
        using var detector = new VaeAnomalyTrainer(SmallOptions()).Fit(TestData.Clusters(200, Columns, 1));
        var rows = TestData.Clusters(200, Columns, 9);
        detector.Calibrate(rows, 0.1);
        // The threshold is the 180th of the 200 sorted scores, so exactly ⌊0.1 · 200⌋ = 20 distinct scores lie above it.
        var scores = detector.Score(rows);
        Assert.AreEqual(rows.Rows, scores.Distinct().Count(), "the exact count below needs distinct scores");
        Assert.AreEqual(scores.Order().ElementAt(179), detector.Threshold);
        Assert.AreEqual(20, scores.Count(s => s > detector.Threshold));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => detector.Threshold = double.NaN);
    }

    [TestMethod]
    [DataRow(AnomalyScoreKind.LikelihoodRatio)]
    [DataRow(AnomalyScoreKind.LikelihoodAndLatentDistance)]
    [DataRow(AnomalyScoreKind.LatentNeighbourDistance)]
    public void ASavedDetectorLoadsWithTheSameScoresThresholdAndSettings(AnomalyScoreKind score)
    {
        var options = SmallOptions(score);
        options.FeatureScaling = FeatureScaling.Standardize;
        var data = TestData.Clusters(200, Columns, 1);
        string folder = Directory.CreateTempSubdirectory().FullName;
        try
        {
            string path = Path.Combine(folder, "detector.vaead");
            using var detector = new VaeAnomalyTrainer(options).Fit(data);
            detector.Save(path);
            using var loaded = VaeAnomalyDetector.Load(path);

            Assert.AreEqual(detector.Threshold, loaded.Threshold);
            Assert.AreEqual(detector.ScoreKind, loaded.ScoreKind);
            Assert.AreEqual(detector.EvaluationSampleCount, loaded.EvaluationSampleCount);
            Assert.AreEqual(FeatureScaling.Standardize, loaded.FeatureScaling);
            var rows = Mixed(10, 10, 6).Rows;
            CollectionAssert.AreEqual(detector.Score(rows), loaded.Score(rows));
            Assert.AreEqual(1, Directory.GetFiles(folder).Length, "no temporary file is left beside the detector");
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [TestMethod]
    public void AnEnsembleScoresTheMeanOfItsModelsStandardisedScoresAndSavesWhole()
    {
        var options = SmallOptions();
        options.EnsembleSize = 3;
        var reports = new List<AnomalyProgress>();
        using var detector = new VaeAnomalyTrainer(options).Fit(TestData.Clusters(200, Columns, 1), new Recorder(reports.Add));
        var rows = Mixed(20, 20, 6).Rows;

        Assert.AreEqual(3, detector.Models.Count);
        var memberScores = detector.Models.Select(m => SharedNoiseLogLikelihood(m, rows, detector).Select(v => -(double)v).ToArray()).ToArray();
        Assert.AreNotEqual(memberScores[0][0], memberScores[1][0], "each model trains with its own seed");
        var standardizations = detector.Standardizations!;
        var scores = detector.Score(rows);
        for (int i = 0; i < rows.Rows; i++)
        {
            double expected = Enumerable.Range(0, 3).Average(m => (memberScores[m][i] - standardizations[m].Mean) / standardizations[m].Deviation);
            Assert.AreEqual(expected, scores[i], 1e-4, $"row {i}");
        }
        CollectionAssert.AreEqual(new[] { 0, 1, 2 }, reports.Select(r => r.Model).Distinct().ToArray());
        Assert.IsTrue(reports.All(r => r.ModelCount == 3));

        using var stream = new MemoryStream();
        detector.Save(stream);
        stream.Position = 0;
        using var loaded = VaeAnomalyDetector.Load(stream);
        Assert.AreEqual(3, loaded.Models.Count);
        Assert.AreEqual(detector.Threshold, loaded.Threshold);
        CollectionAssert.AreEqual(scores, loaded.Score(rows));
    }

    [TestMethod]
    public void AFormatVersion1DetectorFileStillLoads()
    {
        using var detector = new VaeAnomalyTrainer(SmallOptions()).Fit(TestData.Clusters(100, Columns, 1));
        // Version 1 wrote one model and no model count: magic, version, score settings, threshold, no scaling, the
        // length-prefixed model, three absent parts, then the SHA-256 of all that.
        using var payload = new MemoryStream();
        using (var writer = new BinaryWriter(payload, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write("MLVAEAD\0"u8);
            writer.Write(1);
            writer.Write((int)detector.ScoreKind);
            writer.Write(detector.EvaluationSampleCount);
            writer.Write(detector.ScoringSeed);
            writer.Write(detector.Threshold);
            writer.Write(false);
            using var model = new MemoryStream();
            detector.Model.Save(model);
            writer.Write((int)model.Length);
            writer.Write(model.ToArray());
            writer.Write(false);
            writer.Write(false);
            writer.Write(false);
        }
        var bytes = payload.ToArray();
        using var loaded = VaeAnomalyDetector.Load(new MemoryStream([.. bytes, .. System.Security.Cryptography.SHA256.HashData(bytes)]));
        var rows = Mixed(10, 10, 6).Rows;
        Assert.AreEqual(detector.Threshold, loaded.Threshold);
        CollectionAssert.AreEqual(detector.Score(rows), loaded.Score(rows));
    }

    [TestMethod]
    public void DamagedOrForeignFilesAreRejectedWithTheReason()
    {
        using var detector = new VaeAnomalyTrainer(SmallOptions()).Fit(TestData.Clusters(100, Columns, 1));
        using var stream = new MemoryStream();
        detector.Save(stream);
        var bytes = stream.ToArray();

        var flipped = (byte[])bytes.Clone();
        flipped[bytes.Length / 2] ^= 0x40;
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => VaeAnomalyDetector.Load(new MemoryStream(flipped))).Message, "checksum");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => VaeAnomalyDetector.Load(new MemoryStream(bytes[..^40]))).Message, "checksum");

        using var model = new MemoryStream();
        detector.Model.Save(model);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => VaeAnomalyDetector.Load(new MemoryStream(model.ToArray()))).Message, "VaeModel.Load");

        string missingFolder = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "detector.vaead");
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => detector.Save(missingFolder));
        Assert.ThrowsExactly<FileNotFoundException>(() => VaeAnomalyDetector.Load(missingFolder));
    }

    [TestMethod]
    public void BadOptionsAndInputsNameTheProblem()
    {
        var both = SmallOptions();
        both.Contamination = 0.1;
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new VaeAnomalyTrainer(both)).Message, "not both");

        var standardizedBernoulli = SmallOptions();
        standardizedBernoulli.Model.Decoder = DecoderKind.Bernoulli;
        standardizedBernoulli.Model.LearnDecoderVariance = false;
        standardizedBernoulli.FeatureScaling = FeatureScaling.Standardize;
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new VaeAnomalyTrainer(standardizedBernoulli)).Message, "MinMax");

        var k = SmallOptions();
        k.EvaluationSampleCount = 0;
        Assert.AreEqual(nameof(VaeAnomalyDetectorOptions.EvaluationSampleCount), Assert.ThrowsExactly<ArgumentException>(() => new VaeAnomalyTrainer(k)).ParamName);

        var ensemble = SmallOptions();
        ensemble.EnsembleSize = 0;
        Assert.AreEqual(nameof(VaeAnomalyDetectorOptions.EnsembleSize), Assert.ThrowsExactly<ArgumentException>(() => new VaeAnomalyTrainer(ensemble)).ParamName);

        var tooFew = Assert.ThrowsExactly<ArgumentException>(() => new VaeAnomalyTrainer(SmallOptions()).Fit(TestData.Clusters(30, Columns, 1)));
        StringAssert.Contains(tooFew.Message, "at least 10");

        var withNaN = TestData.Clusters(100, Columns, 1);
        withNaN.Values[5 * Columns + 3] = float.NaN;
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new VaeAnomalyTrainer(SmallOptions()).Fit(withNaN)).Message, "Row 5, column 3");

        using var detector = new VaeAnomalyTrainer(SmallOptions()).Fit(TestData.Clusters(100, Columns, 1));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => detector.Score(TestData.Clusters(5, Columns + 1, 1))).Message, "trained on 12");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => detector.Predict(new float[3])).Message, "trained on 12");
    }

    [TestMethod]
    public void MinMaxScalingLetsTheBernoulliDecoderTakeRawFeatures()
    {
        var options = SmallOptions();
        options.Model = new VaeModelOptions { HiddenSizes = [16], LatentSize = 2 };
        options.FeatureScaling = FeatureScaling.MinMax;
        var raw = TestData.Clusters(200, Columns, 1);
        var shifted = new FeatureMatrix(raw.Values.Select(v => 100 + 40 * v).ToArray(), raw.Rows, Columns);
        using var detector = new VaeAnomalyTrainer(options).Fit(shifted);
        var scaled = detector.ScaleFeatures(shifted);
        Assert.IsTrue(scaled.Values.All(v => v >= 0 && v <= 1));
        Assert.IsTrue(detector.Score(shifted).All(float.IsFinite));
    }

    [TestMethod]
    public void ProgressReportsEveryStageInOrder()
    {
        var stages = new List<AnomalyStage>();
        var progress = new Recorder(p => { if (stages.Count == 0 || stages[^1] != p.Stage) stages.Add(p.Stage); });
        using var detector = new VaeAnomalyTrainer(SmallOptions(AnomalyScoreKind.LikelihoodRatio)).Fit(TestData.Clusters(100, Columns, 1), progress);
        CollectionAssert.AreEqual(new[] { AnomalyStage.TrainingModel, AnomalyStage.TrainingBackground, AnomalyStage.Calibrating }, stages);
    }

    private sealed class Recorder(Action<AnomalyProgress> report) : IProgress<AnomalyProgress>
    {
        public void Report(AnomalyProgress value) => report(value);
    }
}
