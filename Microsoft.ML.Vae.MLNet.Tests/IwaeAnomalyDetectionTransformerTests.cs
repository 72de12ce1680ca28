namespace Microsoft.ML.Vae.MLNet.Tests;

[TestClass]
public sealed class IwaeAnomalyDetectionTransformerTests
{
    private static readonly FeatureRow[] Training = TestData.Normal(200, seed: 1);

    [TestMethod]
    public void ChangeThresholdChangesPredictedLabelAndNotScore()
    {
        var mlContext = new MLContext(seed: 1);
        using var transformer = mlContext.AnomalyDetection.Trainers.Iwae(TestData.SmallDetector(epochs: 2)).Fit(mlContext.Data.LoadFromEnumerable(Training));
        var data = mlContext.Data.LoadFromEnumerable(Training.Take(30).Concat(TestData.Anomalies(5, seed: 2)));
        var scores = TestData.Single(transformer.Transform(data), "Score");
        double median = scores.Order().ElementAt(scores.Count / 2);
        using var changed = transformer.ChangeThreshold(median);
        Assert.AreEqual(median, changed.Threshold);
        var output = changed.Transform(data);
        CollectionAssert.AreEqual(scores, TestData.Single(output, "Score"), "the score does not change");
        var labels = TestData.Single<bool>(output, "PredictedLabel");
        CollectionAssert.AreEqual(scores.Select(s => s > median).ToList(), labels);
        Assert.AreNotEqual(median, transformer.Threshold, "the original transformer keeps its threshold");
    }

    [TestMethod]
    public void SavedWithMLContextAndLoadedInAFreshProcessItGivesTheSameValues()
    {
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(Training);
        var model = mlContext.Transforms.NormalizeMinMax("Features")
            .Append(mlContext.AnomalyDetection.Trainers.Iwae(TestData.SmallDetector(epochs: 2)))
            .Fit(data);
        var scoring = Training.Take(15).Concat(TestData.Anomalies(5, seed: 2)).Select(r => r.Features).ToArray();
        var expected = model.Transform(mlContext.Data.LoadFromEnumerable(scoring.Select(f => new FeatureRow { Features = f })));
        var scores = TestData.Single(expected, "Score");
        var labels = TestData.Single<bool>(expected, "PredictedLabel");
        var engine = mlContext.Model.CreatePredictionEngine<FeatureRow, AnomalyPrediction>(model);
        string path = Path.Combine(Path.GetTempPath(), $"vae-mlnet-{Guid.NewGuid():N}.zip");
        try
        {
            mlContext.Model.Save(model, data.Schema, path);
            var loaded = FreshProcess.Transform(path, "Features", scoring, "Score", "PredictedLabel");
            for (int i = 0; i < scoring.Length; i++)
            {
                TestData.AssertClose(scores[i], loaded["Score"][i][0], $"score of row {i}");
                Assert.AreEqual(labels[i] ? 1f : 0f, loaded["PredictedLabel"][i][0], $"label of row {i}");
                var prediction = engine.Predict(new FeatureRow { Features = scoring[i] });
                TestData.AssertClose(scores[i], prediction.Score[0], $"prediction engine score of row {i}");
            }
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void ARowThatCannotBeScoredGetsNaNInItsOwnRowOnly()
    {
        var mlContext = new MLContext(seed: 1);
        using var transformer = mlContext.AnomalyDetection.Trainers.Iwae(TestData.SmallDetector(epochs: 1)).Fit(mlContext.Data.LoadFromEnumerable(Training));
        var rows = Training.Take(5).Select(r => new FeatureRow { Features = (float[])r.Features.Clone() }).ToArray();
        rows[3].Features[2] = float.NaN;
        var clean = TestData.Single(transformer.Transform(mlContext.Data.LoadFromEnumerable(Training.Take(5))), "Score");
        var output = transformer.Transform(mlContext.Data.LoadFromEnumerable(rows));
        var scores = TestData.Single(output, "Score");
        Assert.IsTrue(float.IsNaN(scores[3]), $"row 3: {scores[3]}");
        Assert.IsFalse(TestData.Single<bool>(output, "PredictedLabel")[3]);
        foreach (int good in new[] { 0, 1, 2, 4 })
            Assert.AreEqual(clean[good], scores[good], $"row {good}");
    }
}
