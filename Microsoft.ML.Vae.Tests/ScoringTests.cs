namespace Microsoft.ML.Vae.Tests;

[TestClass]
public sealed class ScoringTests
{
    private static readonly FeatureMatrix Data = TestData.Clusters(40, 10, seed: 1);
    private static readonly VaeModel Model = new VaeTrainer(TestData.SmallOptions(),
        new VaeTrainerOptions { SampleCount = 2, Epochs = 3, BatchSize = 8, Threads = 2 }).Fit(Data);

    [TestMethod]
    public void ConcurrentScoringMatchesSequentialScoring()
    {
        var expectedLogLikelihood = Model.LogLikelihood(Data, 300, seed: 2);
        var expectedEmbedding = Model.Embed(Data).Values;
        var results = new (float[] LogLikelihood, float[] Embedding)[8];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            i => results[i] = (Model.LogLikelihood(Data, 300, seed: 2), Model.Embed(Data).Values));
        foreach (var (logLikelihood, embedding) in results)
        {
            CollectionAssert.AreEqual(expectedLogLikelihood, logLikelihood);
            CollectionAssert.AreEqual(expectedEmbedding, embedding);
        }
    }

    [TestMethod]
    public void RowEstimatesDoNotDependOnBatchingOrChunking()
    {
        // 5000 samples span two scoring passes of 4096 sample rows: chunking must not change a row's estimate.
        var all = Model.LogLikelihood(Data, 5000, seed: 4);
        var single = Model.LogLikelihood(new FeatureMatrix(Data.Row(0).ToArray(), 1, Data.Columns), 5000, seed: 4);
        Assert.AreEqual(all[0], single[0], 1e-5);
        var tail = new float[Data.Rows - 10];
        Model.LogLikelihood(Data.Values.AsSpan(10 * Data.Columns), Data.Rows - 10, tail, 5000, seed: 4, firstRowIndex: 10);
        CollectionAssert.AreEqual(all[10..], tail, "a batch starting at row 10 must reproduce rows 10.. of the whole");
        var other = Model.LogLikelihood(Data, 5000, seed: 5);
        Assert.AreNotEqual(all[0], other[0], "another seed should draw other samples");
        Assert.IsTrue(all.All(float.IsFinite) && all.All(v => v < 0));
    }

    [TestMethod]
    [DataRow(7)]
    [DataRow(5000)]
    public void WithSharedNoiseARowsEstimateIsTheSameInAnyBatchAndAlone(int sampleCount)
    {
        AssertSharedNoiseIsPositionFree(Model, Data, sampleCount);
        // The image model's shapes take the blocked GEMM paths that small layers do not.
        var images = TestData.Clusters(24, 784, seed: 2);
        using var imageModel = new VaeTrainer(new VaeModelOptions { Decoder = DecoderKind.Gaussian },
            new VaeTrainerOptions { SampleCount = 1, Epochs = 1, BatchSize = 8, Threads = 2 }).Fit(images);
        AssertSharedNoiseIsPositionFree(imageModel, images, sampleCount);
    }

    private static void AssertSharedNoiseIsPositionFree(VaeModel model, FeatureMatrix data, int sampleCount)
    {
        var batched = new float[data.Rows];
        model.LogLikelihood(data.Values, data.Rows, batched, sampleCount, seed: 4, sharedNoise: true);
        var reversed = Enumerable.Range(0, data.Rows).Reverse().SelectMany(r => data.Row(r).ToArray()).ToArray();
        var batchedReversed = new float[data.Rows];
        model.LogLikelihood(reversed, data.Rows, batchedReversed, sampleCount, seed: 4, sharedNoise: true);
        for (int r = 0; r < data.Rows; r++)
        {
            var alone = new float[1];
            model.LogLikelihood(data.Row(r), 1, alone, sampleCount, seed: 4, sharedNoise: true);
            Assert.AreEqual(alone[0], batched[r], $"row {r} alone and in a batch");
            Assert.AreEqual(batched[r], batchedReversed[data.Rows - 1 - r], $"row {r} at another position");
        }
        var perRowStreams = model.LogLikelihood(data, sampleCount, seed: 4);
        Assert.AreNotEqual(perRowStreams[1], batched[1], "without shared noise row 1 draws from its own stream");
    }

    [TestMethod]
    public void EmbeddingAndReconstructionHaveTheDocumentedShapes()
    {
        var mean = new float[Data.Rows * Model.LatentSize];
        var logVariance = new float[mean.Length];
        Model.Embed(Data.Values, Data.Rows, mean, logVariance);
        CollectionAssert.AreEqual(mean, Model.Embed(Data).Values);
        var reconstruction = Model.Reconstruct(Data);
        Assert.AreEqual(Data.Rows, reconstruction.Rows);
        Assert.AreEqual(Data.Columns, reconstruction.Columns);
        Assert.IsTrue(reconstruction.Values.All(p => p is > 0 and < 1), "Bernoulli reconstructions are probabilities");
        // The two clusters should reconstruct towards their own centres: column 0 is high for even rows.
        Assert.IsTrue(reconstruction.Row(0)[0] > reconstruction.Row(1)[0]);
    }

    [TestMethod]
    public void ProgressCountsScoredRows()
    {
        var done = new List<int>();
        Model.LogLikelihood(Data, 5000, rowsDone: new Collect<int>(done));
        Assert.AreEqual(Data.Rows, done[^1]);
        CollectionAssert.AreEqual(done.OrderBy(v => v).ToArray(), done.ToArray());
    }
}
