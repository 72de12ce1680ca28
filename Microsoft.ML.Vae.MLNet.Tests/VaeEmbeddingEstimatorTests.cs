using Microsoft.ML.Data;

namespace Microsoft.ML.Vae.MLNet.Tests;

[TestClass]
public sealed class VaeEmbeddingEstimatorTests
{
    private static readonly FeatureRow[] Training = TestData.Normal(120, seed: 1);

    [TestMethod]
    public void OutputSchemaPropagatesThroughAnMLNetPipeline()
    {
        var mlContext = new MLContext(seed: 1);
        var data = mlContext.Data.LoadFromEnumerable(TestData.Split(Training));
        var pipeline = mlContext.Transforms.Concatenate("Features", "Left", "Right")
            .Append(mlContext.Transforms.NormalizeMinMax("Features"))
            .Append(mlContext.Transforms.VaeEmbed(outputColumnName: "Embedding", inputColumnName: "Features", TestData.SmallEmbedding()));

        var shape = pipeline.GetOutputSchema(TestData.Shape(data.Schema));
        var embedding = shape.Single(c => c.Name == "Embedding");
        Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, embedding.Kind);
        Assert.AreEqual(NumberDataViewType.Single, embedding.ItemType);
        var logLikelihood = shape.Single(c => c.Name == "LogLikelihood");
        Assert.AreEqual(SchemaShape.Column.VectorKind.Vector, logLikelihood.Kind);
        Assert.IsTrue(shape.Any(c => c.Name == "Left"), "input columns pass through");

        var model = pipeline.Fit(data);
        var schema = model.GetOutputSchema(data.Schema);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 2), schema["Embedding"].Type);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 1), schema["LogLikelihood"].Type);
        Assert.AreEqual(schema["Embedding"].Type, model.Transform(data).Schema["Embedding"].Type);
    }

    [TestMethod]
    public void FitTrainsTheCoreModelAndTransformGivesItsNumbers()
    {
        var mlContext = new MLContext(seed: 1);
        var options = TestData.SmallEmbedding(seed: 11, epochs: 3);
        using var transformer = mlContext.Transforms.VaeEmbed("Embedding", "Features", options).Fit(mlContext.Data.LoadFromEnumerable(Training));
        Assert.AreEqual(11, transformer.Seed);
        Assert.HasCount(3, transformer.Model.History, "the trained model, with its history, is reachable");

        var trainerOptions = options.Trainer.Clone();
        trainerOptions.Seed = 11;
        using var core = new VaeTrainer(options.Model, trainerOptions).Fit(TestData.Matrix(Training));
        var output = transformer.Transform(mlContext.Data.LoadFromEnumerable(Training));
        var embeddings = TestData.Column<float[]>(output, "Embedding");
        var logLikelihoods = TestData.Single(output, "LogLikelihood");
        var matrix = TestData.Matrix(Training);
        var expectedEmbeddings = core.Embed(matrix);
        var expectedLogLikelihoods = new float[matrix.Rows];
        core.LogLikelihood(matrix.Values, matrix.Rows, expectedLogLikelihoods, options.LogLikelihoodSampleCount, seed: 11, sharedNoise: true);
        for (int i = 0; i < Training.Length; i++)
        {
            TestData.AssertClose(expectedEmbeddings.Row(i).ToArray(), embeddings[i], $"embedding of row {i}", 1e-5);
            TestData.AssertClose(expectedLogLikelihoods[i], logLikelihoods[i], $"log-likelihood of row {i}");
        }
    }

    [TestMethod]
    public void TheMLContextSeedMakesFitReproducible()
    {
        float[][] Embed(int contextSeed, out int seed)
        {
            var mlContext = new MLContext(seed: contextSeed);
            var data = mlContext.Data.LoadFromEnumerable(Training);
            using var transformer = mlContext.Transforms.VaeEmbed("Embedding", "Features", TestData.SmallEmbedding(seed: null, epochs: 2)).Fit(data);
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
    public void DefaultsTrainOnNormalisedDataWithNegativeValuesAndScoreRowsBeyondTheTrainingRange()
    {
        var mlContext = new MLContext(seed: 1);
        // Sensors centred on zero: NormalizeMinMax keeps zero fixed and maps them into [-1, 1].
        var training = TestData.Normal(100, seed: 2).Select(r => new FeatureRow { Features = r.Features.Select(v => 10 * v - 5).ToArray() }).ToArray();
        var model = mlContext.Transforms.NormalizeMinMax("Features")
            .Append(mlContext.Transforms.VaeEmbed("Embedding", "Features", epochs: 2))
            .Fit(mlContext.Data.LoadFromEnumerable(training));
        var normalised = TestData.Column<float[]>(model.Transform(mlContext.Data.LoadFromEnumerable(training)), "Features");
        Assert.IsTrue(normalised.Any(r => r.Any(v => v < 0)), "the normaliser gave negative values");

        var beyond = new[] { new FeatureRow { Features = Enumerable.Repeat(40f, TestData.Features).ToArray() } };
        var output = model.Transform(mlContext.Data.LoadFromEnumerable(beyond));
        Assert.IsTrue(TestData.Column<float[]>(output, "Features")[0].All(v => v > 1), "the row lies beyond the training range");
        Assert.IsTrue(float.IsFinite(TestData.Single(output, "LogLikelihood")[0]));
        Assert.IsTrue(TestData.Column<float[]>(output, "Embedding")[0].All(float.IsFinite));
    }

    [TestMethod]
    public void ANonFiniteTrainingRowIsNamedByItsPositionInTheInput()
    {
        var mlContext = new MLContext(seed: 1);
        var rows = Training.Take(30).Select(r => new FeatureRow { Features = (float[])r.Features.Clone() }).ToArray();
        rows[17].Features[3] = float.NaN;
        var error = Assert.ThrowsExactly<ArgumentException>(() =>
            mlContext.Transforms.VaeEmbed("Embedding", "Features", TestData.SmallEmbedding(epochs: 1)).Fit(mlContext.Data.LoadFromEnumerable(rows)));
        StringAssert.Contains(error.Message, "Row 17 of the training data");
        StringAssert.Contains(error.Message, "index 3 of column 'Features'");
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
    public void FitStopsWhenCancelled()
    {
        var mlContext = new MLContext(seed: 1);
        var options = TestData.SmallEmbedding();
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
        using var transformer = mlContext.Transforms.VaeEmbed("Embedding", "Features", TestData.SmallEmbedding(epochs: 3))
            .Fit(mlContext.Data.LoadFromEnumerable(Training));
        lock (messages)
        {
            Assert.IsTrue(messages.Any(m => m.Contains("Epoch 1/3: bound")) && messages.Any(m => m.Contains("Epoch 3/3: bound")), string.Join(Environment.NewLine, messages));
            Assert.IsTrue(messages.Any(m => m.Contains("120 rows of 8 features")));
        }
    }
}
