using Microsoft.ML.Vae.Anomaly;
using Microsoft.ML.Vae.Onnx;

namespace Microsoft.ML.Vae.Tests;

/// <summary>
/// <see cref="VaeAnomalyDetector.ExportOnnx(Stream, OnnxExportOptions?)"/> for every score kind, feature scaling and
/// ensembles: ONNX Runtime's Score within 1e-4 relative of the library's (1e-5 absolute for scores near 0), and the same
/// PredictedLabel wherever the score is not within that tolerance of the threshold.
/// </summary>
[TestClass]
public sealed class DetectorOnnxExportTests
{
    private const int Columns = 7;

    private static VaeAnomalyDetectorOptions Options(AnomalyScoreKind score, FeatureScaling scaling, int ensemble, DecoderKind decoder = DecoderKind.Gaussian) => new()
    {
        Model = new VaeModelOptions { HiddenSizes = [12], LatentSize = 2, Decoder = decoder, LearnDecoderVariance = decoder == DecoderKind.Gaussian, DecoderVariance = 0.1f },
        Trainer = new VaeTrainerOptions { Epochs = 4, SampleCount = 2, BatchSize = 20, LearningRate = 5e-3f, Threads = 1, Seed = 5 },
        Score = score,
        FeatureScaling = scaling,
        EnsembleSize = ensemble,
        EvaluationSampleCount = 30,
        ScoringSeed = 9,
        NeighbourCount = 5,
        CalibrationFraction = 0.25,
        TargetFalsePositiveRate = 0.1,
    };

    /// <summary>Sensor-like rows: two hidden factors mixed into seven columns of different scales and offsets.</summary>
    private static FeatureMatrix Sensors(int rows, int seed, float shift = 0)
    {
        var noise = TestData.Normal(rows * (Columns + 2), seed);
        var values = new float[rows * Columns];
        for (int r = 0; r < rows; r++)
        {
            float a = noise[r * (Columns + 2)], b = noise[r * (Columns + 2) + 1];
            for (int c = 0; c < Columns; c++)
                values[r * Columns + c] = (c + 1) * (a * MathF.Cos(c) + b * MathF.Sin(c)) + 10 * c + 0.1f * noise[r * (Columns + 2) + 2 + c] + (c == 3 ? shift : 0);
        }
        return new FeatureMatrix(values, rows, Columns);
    }

    [TestMethod]
    [DataRow(AnomalyScoreKind.NegativeLogLikelihood, FeatureScaling.Standardize, 1)]
    [DataRow(AnomalyScoreKind.NegativeLogLikelihood, FeatureScaling.MinMax, 1)]
    [DataRow(AnomalyScoreKind.LikelihoodRatio, FeatureScaling.Standardize, 1)]
    [DataRow(AnomalyScoreKind.LikelihoodAndLatentDistance, FeatureScaling.Standardize, 1)]
    [DataRow(AnomalyScoreKind.LatentNeighbourDistance, FeatureScaling.Standardize, 1)]
    [DataRow(AnomalyScoreKind.LatentNeighbourDistance, FeatureScaling.None, 1)]
    [DataRow(AnomalyScoreKind.NegativeLogLikelihood, FeatureScaling.Standardize, 3)]
    [DataRow(AnomalyScoreKind.LatentNeighbourDistance, FeatureScaling.MinMax, 2)]
    [DataRow(AnomalyScoreKind.NegativeLogLikelihood, FeatureScaling.MinMax, 1, DecoderKind.Bernoulli)]
    public void OnnxRuntimeAgreesWithTheDetector(AnomalyScoreKind score, FeatureScaling scaling, int ensemble, DecoderKind decoder = DecoderKind.Gaussian)
    {
        // With the Bernoulli decoder MinMax scaling clips rows to [0, 1]; the rows beyond the training range test it.
        using var detector = new VaeAnomalyTrainer(Options(score, scaling, ensemble, decoder)).Fit(Sensors(160, seed: 1));
        // Normal rows, rows with one sensor shifted, and rows beyond the training range (MinMax clips them).
        var rows = new FeatureMatrix([.. Sensors(40, 2).Values, .. Sensors(20, 3, shift: 8).Values, .. Sensors(5, 4, shift: 200).Values], 65, Columns);
        var expected = detector.Predict(rows);
        using var session = new OnnxRuntimeSession(Export(detector, new OnnxExportOptions()));
        var result = session.Run(rows.Values, rows.Rows, Columns);
        AssertSameVerdicts(expected, result["Score"], result.Labels("PredictedLabel"), detector.Threshold);
        Assert.IsTrue(expected.Any(p => p.PredictedLabel) && expected.Any(p => !p.PredictedLabel), "the rows should fall on both sides of the threshold");
    }

    [TestMethod]
    public void AScoreDoesNotDependOnTheRowsScoredWithIt()
    {
        using var detector = new VaeAnomalyTrainer(Options(AnomalyScoreKind.NegativeLogLikelihood, FeatureScaling.Standardize, 1)).Fit(Sensors(120, seed: 1));
        var rows = Sensors(12, 6);
        var inBatch = detector.Score(rows);
        for (int r = 0; r < rows.Rows; r++)
            Assert.AreEqual(inBatch[r], detector.Score(new FeatureMatrix(rows.Row(r).ToArray(), 1, Columns))[0], $"row {r} alone");
    }

    [TestMethod]
    public void TheThresholdCanBeRewrittenWithoutRetraining()
    {
        using var detector = new VaeAnomalyTrainer(Options(AnomalyScoreKind.NegativeLogLikelihood, FeatureScaling.Standardize, 1)).Fit(Sensors(120, seed: 1));
        var rows = Sensors(30, 7, shift: 3);
        var scores = detector.Score(rows);
        double median = scores.Order().ElementAt(scores.Length / 2);
        byte[] exported = Export(detector, new OnnxExportOptions());
        using (var session = new OnnxRuntimeSession(exported))
            Assert.IsFalse(session.Inputs.ContainsKey("Threshold"), "the threshold is a constant, not an input ONNX Runtime warns about");
        var path = Path.Combine(Path.GetTempPath(), $"detector-{Guid.NewGuid():N}.onnx");
        try
        {
            File.WriteAllBytes(path, exported);
            VaeAnomalyDetector.ChangeOnnxThreshold(path, median);
            using var rewritten = new OnnxRuntimeSession(File.ReadAllBytes(path));
            var result = rewritten.Run(rows.Values, rows.Rows, Columns);
            CollectionAssert.AreEqual(scores.Select(s => s > median).ToArray(), result.Labels("PredictedLabel"));
            OnnxExportTests.AssertClose(scores, result["Score"], 1e-5, 1e-4, "Score after the rewrite");
            var e = Assert.ThrowsExactly<ArgumentException>(() => VaeAnomalyDetector.ChangeOnnxThreshold(path, 1, "Cutoff"));
            StringAssert.Contains(e.Message, "Cutoff");
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void SingleRowGraphGivesOneValueScoreAndLabel()
    {
        using var detector = new VaeAnomalyTrainer(Options(AnomalyScoreKind.LatentNeighbourDistance, FeatureScaling.Standardize, 1)).Fit(Sensors(100, seed: 1));
        var rows = Sensors(4, 8, shift: 5);
        var expected = detector.Predict(rows);
        using var session = new OnnxRuntimeSession(Export(detector, new OnnxExportOptions { SingleRow = true }));
        for (int r = 0; r < rows.Rows; r++)
        {
            var result = session.Run(rows.Row(r).ToArray(), 1, Columns, singleRow: true);
            CollectionAssert.AreEqual(new[] { 1 }, result.Shapes["Score"]);
            CollectionAssert.AreEqual(new[] { 1 }, result.Shapes["PredictedLabel"]);
            AssertSameVerdicts([expected[r]], result["Score"], result.Labels("PredictedLabel"), detector.Threshold);
        }
    }

    private static byte[] Export(VaeAnomalyDetector detector, OnnxExportOptions options)
    {
        using var stream = new MemoryStream();
        detector.ExportOnnx(stream, options);
        return stream.ToArray();
    }

    private static void AssertSameVerdicts(AnomalyPrediction[] expected, float[] scores, bool[] labels, double threshold)
    {
        OnnxExportTests.AssertClose(expected.Select(p => p.Score).ToArray(), scores, 1e-5, 1e-4, "Score");
        for (int i = 0; i < expected.Length; i++)
        {
            if (Math.Abs(expected[i].Score - threshold) <= 1e-5 + 1e-4 * Math.Abs(threshold)) continue;
            Assert.AreEqual(expected[i].PredictedLabel, labels[i], $"PredictedLabel[{i}] (score {expected[i].Score}, threshold {threshold})");
        }
    }
}
