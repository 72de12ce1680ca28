using Microsoft.ML.Data;
using Microsoft.ML.Vae.MLNet.Infrastructure;

namespace Microsoft.ML.Vae.MLNet.Tests;

[TestClass]
public sealed class VaeEmbeddingTests
{
    private static readonly FeatureRow[] Training = TestData.Normal(120, seed: 1);

    [TestMethod]
    public void OutputSchemaPropagatesThroughAnMLNetPipeline()
    {
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(TestData.Split(Training));
        var pipeline = mlContext.Transforms.Concatenate("Features", "Left", "Right")
            .Append(mlContext.Transforms.NormalizeMinMax("Features"))
            .Append(mlContext.Transforms.VaeEmbed(outputColumnName: "Embedding", inputColumnName: "Features", TestData.Small(new VaeEmbeddingEstimator.Options())));

        var shape = pipeline.GetOutputSchema(TestData.Shape(data.Schema));
        var embedding = shape.Single(c => c.Name == "Embedding");
        Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, embedding.Kind);
        Assert.AreEqual(NumberDataViewType.Single, embedding.ItemType);
        var logLikelihood = shape.Single(c => c.Name == "LogLikelihood");
        Assert.AreEqual(SchemaShape.Column.VectorKind.Scalar, logLikelihood.Kind);
        Assert.AreEqual(NumberDataViewType.Single, logLikelihood.ItemType);
        Assert.IsTrue(shape.Any(c => c.Name == "Left"), "input columns pass through");

        var model = pipeline.Fit(data);
        var schema = model.GetOutputSchema(data.Schema);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 2), schema["Embedding"].Type);
        Assert.AreEqual(NumberDataViewType.Single, schema["LogLikelihood"].Type);
        Assert.AreEqual(schema["Embedding"].Type, model.Transform(data).Schema["Embedding"].Type);
    }

    [TestMethod]
    public void FitAndTransformMatchTheCoreForTheSameSeed()
    {
        var mlContext = new MLContext(seed: 1);
        var options = TestData.Small(new VaeEmbeddingEstimator.Options(), seed: 11);
        using var transformer = mlContext.Transforms.VaeEmbed("Embedding", "Features", options).Fit(mlContext.Data.LoadFromEnumerable(Training));

        var trainerOptions = options.Trainer.Clone();
        trainerOptions.Seed = 11;
        using var core = new VaeTrainer(options.Model, trainerOptions).Fit(TestData.Matrix(Training));

        var output = transformer.Transform(mlContext.Data.LoadFromEnumerable(Training));
        var embeddings = TestData.Column<float[]>(output, "Embedding");
        var logLikelihoods = TestData.Column<float>(output, "LogLikelihood");
        var expectedEmbeddings = core.Embed(TestData.Matrix(Training));
        for (int i = 0; i < Training.Length; i++)
        {
            CollectionAssert.AreEqual(expectedEmbeddings.Row(i).ToArray(), embeddings[i], $"embedding of row {i}");
            var row = FeatureMatrix.FromRows([Training[i].Features]);
            Assert.AreEqual(core.LogLikelihood(row, options.LogLikelihoodSampleCount, seed: 11)[0], logLikelihoods[i], $"log-likelihood of row {i}");
        }
        Assert.AreEqual(11, transformer.Seed);
    }

    [TestMethod]
    public void TheMLContextSeedMakesFitReproducible()
    {
        float[][] Embed(int contextSeed, out int seed)
        {
            var mlContext = new MLContext(seed: contextSeed);
            var data = mlContext.Data.LoadFromEnumerable(Training);
            using var transformer = mlContext.Transforms.VaeEmbed("Embedding", "Features", TestData.Small(new VaeEmbeddingEstimator.Options(), seed: null)).Fit(data);
            seed = transformer.Seed;
            return TestData.Column<float[]>(transformer.Transform(data), "Embedding").ToArray();
        }

        var first = Embed(5, out int firstSeed);
        var again = Embed(5, out int againSeed);
        Embed(6, out int otherSeed);
        Assert.AreEqual(firstSeed, againSeed);
        Assert.AreNotEqual(firstSeed, otherSeed);
        for (int i = 0; i < first.Length; i++)
            CollectionAssert.AreEqual(first[i], again[i]);
    }

    [TestMethod]
    public void PredictionEngineMatchesTransform()
    {
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(TestData.Split(Training));
        var model = mlContext.Transforms.Concatenate("Features", "Left", "Right")
            .Append(mlContext.Transforms.VaeEmbed("Embedding", "Features", TestData.Small(new VaeEmbeddingEstimator.Options())))
            .Fit(data);
        var transformed = model.Transform(data);
        var embeddings = TestData.Column<float[]>(transformed, "Embedding");
        var logLikelihoods = TestData.Column<float>(transformed, "LogLikelihood");

        var engine = mlContext.Model.CreatePredictionEngine<SplitRow, EmbeddingPrediction>(model, new PredictionEngineOptions { OwnsTransformer = false });
        var rows = TestData.Split(Training);
        // Out of order, so a result cached for the previous row would show.
        foreach (int i in new[] { 5, 0, 5, 17, 3 })
        {
            var prediction = engine.Predict(rows[i]);
            CollectionAssert.AreEqual(embeddings[i], prediction.Embedding, $"row {i}");
            Assert.AreEqual(logLikelihoods[i], prediction.LogLikelihood, $"row {i}");
        }
    }

    [TestMethod]
    public void TransformIsLazyAndItsBatchSizeDoesNotChangeValues()
    {
        var mlContext = new MLContext(seed: 1);
        using var transformer = mlContext.Transforms.VaeEmbed("Embedding", "Features", TestData.Small(new VaeEmbeddingEstimator.Options()))
            .Fit(mlContext.Data.LoadFromEnumerable(Training));
        var data = mlContext.Data.LoadFromEnumerable(Training.Take(37));
        var reference = transformer.Transform(data);
        // Shares the model with transformer, which disposes it.
        var rebatched = new VaeEmbeddingTransformer(transformer.Model, "Features", "Embedding", "LogLikelihood", transformer.Seed,
            transformer.LogLikelihoodSampleCount, batchSize: 5);
        var batched = rebatched.Transform(data);
        CollectionAssert.AreEqual(TestData.Column<float>(reference, "LogLikelihood"), TestData.Column<float>(batched, "LogLikelihood"));
        var expected = TestData.Column<float[]>(reference, "Embedding");
        var actual = TestData.Column<float[]>(batched, "Embedding");
        for (int i = 0; i < expected.Count; i++)
            CollectionAssert.AreEqual(expected[i], actual[i]);

        // Row 20 is outside the Bernoulli decoder's [0, 1]: nothing fails until the embedding of its batch is read.
        var bad = Training.Take(30).Select(r => new FeatureRow { Features = (float[])r.Features.Clone() }).ToArray();
        bad[20].Features[3] = 2f;
        var lazy = transformer.Transform(mlContext.Data.LoadFromEnumerable(bad));
        Assert.AreEqual(30, TestData.Column<float>(lazy, "Label").Count, "passed-through columns read without scoring");
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => TestData.Column<float[]>(lazy, "Embedding"));
        StringAssert.Contains(error.Message, "from row 16");
        StringAssert.Contains(error.Message, "Row 4");
    }

    [TestMethod]
    public void ColumnNamesAreSettable()
    {
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(Training);
        var estimator = mlContext.Transforms.VaeEmbed("Z", "Features", latentSize: 3, epochs: 1, logLikelihoodColumnName: "LogP");
        var shape = estimator.GetOutputSchema(TestData.Shape(data.Schema));
        Assert.IsTrue(shape.Any(c => c.Name == "Z") && shape.Any(c => c.Name == "LogP"));
        Assert.IsFalse(shape.Any(c => c.Name == "LogLikelihood"));
        Assert.ThrowsExactly<ArgumentException>(() => mlContext.Transforms.VaeEmbed("Z", "Features", logLikelihoodColumnName: "Z"));
    }

    [TestMethod]
    public void SaveAndLoadRoundTrip()
    {
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(Training);
        using var transformer = mlContext.Transforms.VaeEmbed("Z", "Features", TestData.Small(new VaeEmbeddingEstimator.Options { LogLikelihoodColumnName = "LogP" })).Fit(data);
        string path = Path.Combine(Path.GetTempPath(), $"vae-mlnet-{Guid.NewGuid():N}.bin");
        try
        {
            transformer.Save(path);
            using var loaded = VaeEmbeddingTransformer.Load(path);
            Assert.AreEqual("Z", loaded.EmbeddingColumnName);
            Assert.AreEqual("LogP", loaded.LogLikelihoodColumnName);
            Assert.AreEqual(transformer.Seed, loaded.Seed);
            CollectionAssert.AreEqual(TestData.Column<float>(transformer.Transform(data), "LogP"), TestData.Column<float>(loaded.Transform(data), "LogP"));
            var expected = TestData.Column<float[]>(transformer.Transform(data), "Z");
            var actual = TestData.Column<float[]>(loaded.Transform(data), "Z");
            for (int i = 0; i < expected.Count; i++)
                CollectionAssert.AreEqual(expected[i], actual[i]);

            Assert.ThrowsExactly<InvalidDataException>(() => IwaeAnomalyDetectionTransformer.Load(path));
        }
        finally
        {
            File.Delete(path);
        }

        var error = Assert.ThrowsExactly<NotSupportedException>(() => mlContext.Model.Save(transformer, data.Schema, new MemoryStream()));
        StringAssert.Contains(error.Message, "VaeEmbeddingTransformer.Load");
    }

    [TestMethod]
    public void FitStopsWhenCancelled()
    {
        var mlContext = new MLContext(seed: 1);
        var options = TestData.Small(new VaeEmbeddingEstimator.Options());
        options.CancellationToken = new CancellationToken(canceled: true);
        Assert.ThrowsExactly<OperationCanceledException>(() => mlContext.Transforms.VaeEmbed("Embedding", "Features", options)
            .Fit(mlContext.Data.LoadFromEnumerable(Training)));
    }

    [TestMethod]
    public void FitReportsEpochsThroughTheContextLog()
    {
        var mlContext = new MLContext(seed: 1);
        var messages = new List<string>();
        mlContext.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        using var transformer = mlContext.Transforms.VaeEmbed("Embedding", "Features", TestData.Small(new VaeEmbeddingEstimator.Options(), epochs: 3))
            .Fit(mlContext.Data.LoadFromEnumerable(Training));
        lock (messages)
        {
            Assert.IsTrue(messages.Any(m => m.Contains("Epoch 1/3: bound")) && messages.Any(m => m.Contains("Epoch 3/3: bound")), string.Join(Environment.NewLine, messages));
            Assert.IsTrue(messages.Any(m => m.Contains("120 rows of 8 features")));
        }
    }

    [TestMethod]
    public void GpuDeviceIdSelectsTheLibTorchEngine()
    {
        var mlContext = new MLContext(seed: 1) { GpuDeviceId = 1, FallbackToCpu = false };
        var options = new VaeTrainerOptions();
        VaeTraining.SelectDevice(MLNetInternals.GetEnvironment(mlContext.Transforms), options);
        Assert.AreEqual(EngineKind.LibTorch, options.Engine);
        Assert.AreEqual("cuda:1", options.Device);
        Assert.IsFalse(options.FallbackToCpu);

        var untouched = new VaeTrainerOptions();
        VaeTraining.SelectDevice(MLNetInternals.GetEnvironment(new MLContext().Transforms), untouched);
        Assert.AreEqual(EngineKind.Managed, untouched.Engine);
    }
}
