using Microsoft.ML.Vae.Anomaly;

namespace Microsoft.ML.Vae.MLNet.Tests;

[TestClass]
public sealed class IwaeAnomalyDetectionTrainerTests
{
    private static readonly FeatureRow[] Training = TestData.Normal(200, seed: 1);

    [TestMethod]
    public void TheSimpleOverloadTakesTheTabularSettingsAndFixesTheEpochsOnlyWhenAsked()
    {
        var automatic = IwaeAnomalyDetectionTrainer.Options.Simple("Features", latentSize: 16, epochs: 0, sampleCount: 5, falsePositiveRate: 0.05);
        var tabular = VaeAnomalyDetectorOptions.ForTabularData();
        Assert.AreEqual(tabular.TrainingSteps, automatic.Detector.TrainingSteps);
        Assert.AreEqual(tabular.FeatureScaling, automatic.Detector.FeatureScaling);
        CollectionAssert.AreEqual(tabular.Model.HiddenSizes, automatic.Detector.Model.HiddenSizes);
        Assert.AreEqual(tabular.Trainer.LearningRate, automatic.Detector.Trainer.LearningRate);
        Assert.AreEqual(0.05, automatic.Detector.TargetFalsePositiveRate);

        var fixedEpochs = IwaeAnomalyDetectionTrainer.Options.Simple("Features", latentSize: 3, epochs: 7, sampleCount: 2, falsePositiveRate: 0.1);
        Assert.IsNull(fixedEpochs.Detector.TrainingSteps);
        Assert.AreEqual(7, fixedEpochs.Detector.Trainer.Epochs);
        Assert.AreEqual(3, fixedEpochs.Detector.Model.LatentSize);
        Assert.AreEqual(2, fixedEpochs.Detector.Trainer.SampleCount);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MLContext().AnomalyDetection.Trainers.Iwae(epochs: -1));
        StringAssert.Contains(e.Message, "epochs");
    }

    [TestMethod]
    public void FitTrainsTheCoreDetectorAndScoreIsItsScore()
    {
        var mlContext = new MLContext(seed: 1);
        var options = TestData.SmallDetector(epochs: 3);
        options.Detector.Score = AnomalyScoreKind.LatentNeighbourDistance;
        using var transformer = mlContext.AnomalyDetection.Trainers.Iwae(options).Fit(mlContext.Data.LoadFromEnumerable(Training));
        Assert.AreEqual(AnomalyScoreKind.LatentNeighbourDistance, transformer.Detector.ScoreKind);
        Assert.AreEqual(FeatureScaling.Standardize, transformer.Detector.FeatureScaling, "the tabular default scales the features");

        var rows = Training.Take(10).Concat(TestData.Anomalies(5, seed: 2)).ToArray();
        var output = transformer.Transform(mlContext.Data.LoadFromEnumerable(rows));
        var scores = TestData.Single(output, "Score");
        var labels = TestData.Single<bool>(output, "PredictedLabel");
        var expected = transformer.Detector.Score(TestData.Matrix(rows));
        for (int i = 0; i < rows.Length; i++)
        {
            TestData.AssertClose(expected[i], scores[i], $"score of row {i}");
            Assert.AreEqual(scores[i] > transformer.Threshold, labels[i], $"label of row {i}");
        }
    }

    [TestMethod]
    public void AnomalyDetectionEvaluateSeesTheAnomalies()
    {
        var mlContext = new MLContext(seed: 1);
        using var transformer = mlContext.AnomalyDetection.Trainers.Iwae(TestData.SmallDetector()).Fit(mlContext.Data.LoadFromEnumerable(Training));
        var test = mlContext.Data.LoadFromEnumerable(TestData.Normal(40, seed: 3).Concat(TestData.Anomalies(10, seed: 4)));
        var metrics = transformer.Evaluate(transformer.Transform(test));
        var scores = TestData.Single(transformer.Transform(test), "Score");
        var labels = TestData.Column<float>(test, "Label");
        // The AUC by its definition: the fraction of (anomaly, normal) pairs the score orders correctly.
        var pairs = scores.Where((_, i) => labels[i] == 1).SelectMany(a => scores.Where((_, i) => labels[i] == 0).Select(n => a > n ? 1.0 : a == n ? 0.5 : 0)).ToList();
        Assert.AreEqual(pairs.Average(), metrics.AreaUnderRocCurve, 1e-9);
        Assert.IsGreaterThan(0.95, metrics.AreaUnderRocCurve);
    }

    [TestMethod]
    public void DefaultsTrainOnNormalisedDataWithNegativeValuesAndScoreRowsBeyondTheTrainingRange()
    {
        var mlContext = new MLContext(seed: 1);
        var training = TestData.Normal(150, seed: 2).Select(r => new FeatureRow { Features = r.Features.Select(v => 10 * v - 5).ToArray() }).ToArray();
        var model = mlContext.Transforms.NormalizeMinMax("Features")
            .Append(mlContext.AnomalyDetection.Trainers.Iwae(latentSize: 2, epochs: 2))
            .Fit(mlContext.Data.LoadFromEnumerable(training));
        var beyond = new[] { new FeatureRow { Features = Enumerable.Repeat(40f, TestData.Features).ToArray() } };
        var output = model.Transform(mlContext.Data.LoadFromEnumerable(training.Take(5).Concat(beyond)));
        var scores = TestData.Single(output, "Score");
        Assert.IsTrue(scores.All(float.IsFinite), string.Join(", ", scores));
        Assert.IsTrue(TestData.Single<bool>(output, "PredictedLabel")[5], "a row far beyond the training range is flagged");
    }

    [TestMethod]
    public void ANonFiniteTrainingRowIsNamedByItsPositionInTheInput()
    {
        var mlContext = new MLContext(seed: 1);
        var rows = Training.Select(r => new FeatureRow { Features = (float[])r.Features.Clone() }).ToArray();
        rows[123].Features[0] = float.PositiveInfinity;
        var error = Assert.ThrowsExactly<ArgumentException>(() =>
            mlContext.AnomalyDetection.Trainers.Iwae(TestData.SmallDetector(epochs: 1)).Fit(mlContext.Data.LoadFromEnumerable(rows)));
        StringAssert.Contains(error.Message, "Row 123 of the training data");
    }

    [TestMethod]
    public void InvalidDetectorOptionsAreNamed()
    {
        var mlContext = new MLContext(seed: 1);
        var options = TestData.SmallDetector();
        options.Detector.EnsembleSize = 0;
        var error = Assert.ThrowsExactly<ArgumentException>(() => mlContext.AnomalyDetection.Trainers.Iwae(options));
        Assert.AreEqual("EnsembleSize", error.ParamName);
        Assert.ThrowsExactly<ArgumentException>(() => mlContext.AnomalyDetection.Trainers.Iwae(falsePositiveRate: 1.5));
    }
}
