namespace Microsoft.ML.Vae.MLNet.Tests;

[TestClass]
public sealed class IwaeAnomalyDetectionTests
{
    private static readonly FeatureRow[] Training = TestData.Normal(300, seed: 1);

    private static readonly FeatureRow[] Test = [.. TestData.Normal(100, seed: 2), .. TestData.Anomalies(20, seed: 3)];

    private static IwaeAnomalyDetectionTrainer.Options Options(float? threshold = null) =>
        TestData.Small(new IwaeAnomalyDetectionTrainer.Options { FalsePositiveRate = 0.05, Threshold = threshold }, epochs: 30);

    [TestMethod]
    public void AnomalyDetectionEvaluateSeesTheAnomalies()
    {
        var mlContext = new MLContext(seed: 1);
        using var detector = mlContext.AnomalyDetection.Trainers.Iwae(Options()).Fit(mlContext.Data.LoadFromEnumerable(Training));
        var scored = detector.Transform(mlContext.Data.LoadFromEnumerable(Test));

        var metrics = mlContext.AnomalyDetection.Evaluate(scored, labelColumnName: "Label", falsePositiveCount: 5);
        Assert.IsTrue(metrics.AreaUnderRocCurve > 0.95, $"AUC {metrics.AreaUnderRocCurve}");
        Assert.IsTrue(metrics.DetectionRateAtFalsePositiveCount > 0.9, $"detection rate {metrics.DetectionRateAtFalsePositiveCount}");
    }

    [TestMethod]
    public void ScoreIsMinusTheCoreLogLikelihoodAndPredictedLabelIsScoreAboveTheThreshold()
    {
        var mlContext = new MLContext(seed: 1);
        using var detector = mlContext.AnomalyDetection.Trainers.Iwae(Options()).Fit(mlContext.Data.LoadFromEnumerable(Training));
        var scored = detector.Transform(mlContext.Data.LoadFromEnumerable(Test));
        var scores = TestData.Column<float>(scored, "Score");
        var predicted = TestData.Column<bool>(scored, "PredictedLabel");

        for (int i = 0; i < Test.Length; i++)
        {
            var row = FeatureMatrix.FromRows([Test[i].Features]);
            Assert.AreEqual(-detector.Model.LogLikelihood(row, detector.LogLikelihoodSampleCount, detector.Seed)[0], scores[i], $"row {i}");
            Assert.AreEqual(scores[i] > detector.Threshold, predicted[i], $"row {i}");
        }
        // Calibrated for 5 % false positives on held-out normal rows: fresh normal rows should be flagged rarely, anomalies mostly.
        double normalFlagged = predicted.Take(100).Count(p => p) / 100.0;
        double anomaliesFlagged = predicted.Skip(100).Count(p => p) / 20.0;
        Assert.IsTrue(normalFlagged < 0.2, $"normal rows flagged: {normalFlagged}");
        Assert.IsTrue(anomaliesFlagged > 0.8, $"anomalies flagged: {anomaliesFlagged}");
    }

    [TestMethod]
    public void AFixedThresholdIsUsedAsGiven()
    {
        var mlContext = new MLContext(seed: 1);
        using var detector = mlContext.AnomalyDetection.Trainers.Iwae(Options(threshold: 1.5f)).Fit(mlContext.Data.LoadFromEnumerable(Training));
        Assert.AreEqual(1.5f, detector.Threshold);
        var scored = detector.Transform(mlContext.Data.LoadFromEnumerable(Test));
        var scores = TestData.Column<float>(scored, "Score");
        CollectionAssert.AreEqual(scores.Select(s => s > 1.5f).ToList(), TestData.Column<bool>(scored, "PredictedLabel"));
    }

    [TestMethod]
    public void PredictionEngineAndSaveLoadGiveTheSameScores()
    {
        var mlContext = new MLContext(seed: 1);
        using var detector = mlContext.AnomalyDetection.Trainers.Iwae(Options()).Fit(mlContext.Data.LoadFromEnumerable(Training));
        var test = mlContext.Data.LoadFromEnumerable(Test);
        var scores = TestData.Column<float>(detector.Transform(test), "Score");

        var stream = new MemoryStream();
        detector.Save(stream);
        stream.Position = 0;
        using var loaded = IwaeAnomalyDetectionTransformer.Load(stream);
        Assert.AreEqual(detector.Threshold, loaded.Threshold);
        CollectionAssert.AreEqual(scores, TestData.Column<float>(loaded.Transform(test), "Score"));

        var engine = mlContext.Model.CreatePredictionEngine<FeatureRow, AnomalyPrediction>(loaded, new PredictionEngineOptions { OwnsTransformer = false });
        foreach (int i in new[] { 110, 3, 110, 119 })
        {
            var prediction = engine.Predict(Test[i]);
            Assert.AreEqual(scores[i], prediction.Score, $"row {i}");
            Assert.AreEqual(scores[i] > loaded.Threshold, prediction.PredictedLabel, $"row {i}");
        }
    }

    [TestMethod]
    public void TooFewRowsToCalibrateIsExplained()
    {
        var mlContext = new MLContext(seed: 1);
        var error = Assert.ThrowsExactly<ArgumentException>(() =>
            mlContext.AnomalyDetection.Trainers.Iwae(Options()).Fit(mlContext.Data.LoadFromEnumerable(Training.Take(1))));
        StringAssert.Contains(error.Message, "Options.Threshold");
    }
}
