using Microsoft.ML.Data;

namespace Microsoft.ML.Vae.MLNet.Tests;

[TestClass]
public sealed class VaeEmbeddingTransformerTests
{
    private static readonly FeatureRow[] Training = TestData.Normal(100, seed: 1);

    [TestMethod]
    public void PredictionEngineMatchesTransform()
    {
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(TestData.Split(Training));
        var model = mlContext.Transforms.Concatenate("Features", "Left", "Right")
            .Append(mlContext.Transforms.VaeEmbed("Embedding", "Features", TestData.SmallEmbedding(epochs: 2)))
            .Fit(data);
        var transformed = model.Transform(data);
        var embeddings = TestData.Column<float[]>(transformed, "Embedding");
        var logLikelihoods = TestData.Single(transformed, "LogLikelihood");

        var engine = mlContext.Model.CreatePredictionEngine<SplitRow, EmbeddingPrediction>(model, new PredictionEngineOptions { OwnsTransformer = false });
        var rows = TestData.Split(Training);
        // Out of order, so a result cached for the previous row would show.
        foreach (int i in new[] { 5, 0, 5, 17, 3 })
        {
            var prediction = engine.Predict(rows[i]);
            TestData.AssertClose(embeddings[i], prediction.Embedding, $"embedding of row {i}");
            TestData.AssertClose(logLikelihoods[i], prediction.LogLikelihood[0], $"log-likelihood of row {i}");
        }
    }

    [TestMethod]
    public void ARowThatCannotBeScoredGetsANonFiniteValueInItsOwnRowOnly()
    {
        var mlContext = new MLContext(seed: 1);
        using var transformer = mlContext.Transforms.VaeEmbed("Embedding", "Features", TestData.SmallEmbedding(epochs: 2))
            .Fit(mlContext.Data.LoadFromEnumerable(Training));
        var rows = Training.Take(6).Select(r => new FeatureRow { Features = (float[])r.Features.Clone() }).ToArray();
        rows[2].Features[1] = float.NaN;
        rows[4].Features[0] = float.PositiveInfinity;
        var clean = TestData.Single(transformer.Transform(mlContext.Data.LoadFromEnumerable(Training.Take(6))), "LogLikelihood");
        var output = transformer.Transform(mlContext.Data.LoadFromEnumerable(rows));
        var logLikelihoods = TestData.Single(output, "LogLikelihood");
        var embeddings = TestData.Column<float[]>(output, "Embedding");
        Assert.IsTrue(float.IsNaN(logLikelihoods[2]), $"row 2: {logLikelihoods[2]}");
        Assert.IsTrue(embeddings[2].All(float.IsNaN));
        Assert.IsFalse(float.IsFinite(logLikelihoods[4]), $"row 4 (an infinite feature) is infinitely unlikely or NaN: {logLikelihoods[4]}");
        foreach (int good in new[] { 0, 1, 3, 5 })
            Assert.AreEqual(clean[good], logLikelihoods[good], $"row {good} is scored as without the bad rows");
    }

    [TestMethod]
    public void SavedWithMLContextAndLoadedInAFreshProcessItGivesTheSameValues()
    {
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(Training);
        var model = mlContext.Transforms.NormalizeMinMax("Features")
            .Append(mlContext.Transforms.VaeEmbed("Z", "Features", TestData.SmallEmbedding(epochs: 2)))
            .Fit(data);
        var scoring = Training.Take(20).Select(r => r.Features).Append(Enumerable.Repeat(3f, TestData.Features).ToArray()).ToArray();
        var expected = model.Transform(mlContext.Data.LoadFromEnumerable(scoring.Select(f => new FeatureRow { Features = f })));
        string path = Path.Combine(Path.GetTempPath(), $"vae-mlnet-{Guid.NewGuid():N}.zip");
        try
        {
            mlContext.Model.Save(model, data.Schema, path);
            var loaded = FreshProcess.Transform(path, "Features", scoring, "Z", "LogLikelihood");
            var embeddings = TestData.Column<float[]>(expected, "Z");
            var logLikelihoods = TestData.Single(expected, "LogLikelihood");
            for (int i = 0; i < scoring.Length; i++)
            {
                TestData.AssertClose(embeddings[i], loaded["Z"][i], $"embedding of row {i}");
                TestData.AssertClose(logLikelihoods[i], loaded["LogLikelihood"][i][0], $"log-likelihood of row {i}");
            }
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void WithoutAnInputColumnTheEmbeddingReplacesTheInputColumnAndStillSaves()
    {
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(Training);
        using var transformer = mlContext.Transforms.VaeEmbed("Features", latentSize: 2, epochs: 1).Fit(data);
        var output = transformer.Transform(data);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 2), output.Schema["Features"].Type);
        Assert.AreEqual(1, output.Schema.Count(c => !c.IsHidden && c.Name.StartsWith("Features", StringComparison.Ordinal)), "no temporary column is left");
        var stream = new MemoryStream();
        mlContext.Model.Save(transformer, data.Schema, stream);
        stream.Position = 0;
        var loaded = mlContext.Model.Load(stream, out _);
        var expected = TestData.Column<float[]>(output, "Features");
        var actual = TestData.Column<float[]>(loaded.Transform(data), "Features");
        for (int i = 0; i < expected.Count; i++)
            TestData.AssertClose(expected[i], actual[i], $"row {i}");
    }

    [TestMethod]
    public void SavingOverAGoodModelFileReplacesItWithAWorkingOne()
    {
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(Training);
        string path = Path.Combine(Path.GetTempPath(), $"vae-mlnet-{Guid.NewGuid():N}.zip");
        try
        {
            foreach (int latent in new[] { 2, 3 })
            {
                var options = TestData.SmallEmbedding(epochs: 1);
                options.Model.LatentSize = latent;
                using var transformer = mlContext.Transforms.VaeEmbed("Embedding", "Features", options).Fit(data);
                mlContext.Model.Save(transformer, data.Schema, path);
            }
            var loaded = mlContext.Model.Load(path, out _);
            Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 3), loaded.GetOutputSchema(data.Schema)["Embedding"].Type);
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void TheTransformerRejectsAVectorOfAnotherSize()
    {
        var mlContext = new MLContext(seed: 1);
        using var transformer = mlContext.Transforms.VaeEmbed("Embedding", "Features", TestData.SmallEmbedding(epochs: 1))
            .Fit(mlContext.Data.LoadFromEnumerable(Training.Take(40)));
        var other = mlContext.Data.LoadFromEnumerable(new[] { new FeatureColumnTests.ShortRow { Features = new float[6] } });
        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.Transform(other));
        StringAssert.Contains(error.Message, "has 6 values per row but the model was trained on 8");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.GetRowToRowMapper(other.Schema));
    }
}
