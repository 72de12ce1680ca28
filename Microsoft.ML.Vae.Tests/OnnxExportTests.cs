using Microsoft.ML.Vae.Model;
using Microsoft.ML.Vae.Onnx;

namespace Microsoft.ML.Vae.Tests;

/// <summary>
/// <see cref="VaeModel.ExportOnnx(Stream, OnnxExportOptions?)"/>: ONNX Runtime's outputs against the library's, over
/// every model option. Tolerances: float32 rounding of a few hundred accumulated terms in another order is about
/// 1e-6 relative per value; the outputs must agree to 1e-5 absolute (embedding, reconstruction) and 1e-4 relative
/// (log p(x), whose terms are each up to a few hundred nats).
/// </summary>
[TestClass]
public sealed class OnnxExportTests
{
    public static IEnumerable<object[]> ModelCases()
    {
        foreach (var activation in Enum.GetValues<Activation>())
            foreach (var (decoder, learn) in new[] { (DecoderKind.Bernoulli, false), (DecoderKind.Gaussian, false), (DecoderKind.Gaussian, true) })
                yield return [activation, decoder, learn, PriorKind.Standard, LatentKind.Gaussian];
        foreach (var prior in new[] { PriorKind.LearnedGaussian, PriorKind.Vamp })
            foreach (var decoder in new[] { DecoderKind.Bernoulli, DecoderKind.Gaussian })
                yield return [Activation.Tanh, decoder, false, prior, LatentKind.Gaussian];
        foreach (var decoder in new[] { DecoderKind.Bernoulli, DecoderKind.Gaussian })
            yield return [Activation.Relu, decoder, false, PriorKind.Standard, LatentKind.Categorical];
    }

    [TestMethod]
    [DynamicData(nameof(ModelCases))]
    public void OnnxRuntimeAgreesWithTheLibrary(Activation activation, DecoderKind decoder, bool learnVariance, PriorKind prior, LatentKind latent)
    {
        var options = TestData.SmallOptions(decoder, activation, learnVariance);
        options.Prior = prior;
        options.PseudoInputCount = 7;
        options.Latent = latent;
        options.CategoryCount = 4;
        // 130 rows at K = 50 make two chunks of 65 rows (81 at most): the padding and the cut are exercised.
        using var model = RandomModel(options, features: 9, seed: 3);
        var rows = TestData.Clusters(130, 9, seed: 5);
        AssertAgrees(model, rows, sampleCount: 50, seed: 11);
    }

    [TestMethod]
    public void ATrainedImageSizedModelAgreesAtK5000()
    {
        // The 784-wide decoder and K above one chunk's 4096 sample rows (one row per chunk, all K at once).
        var images = TestData.Clusters(40, 784, seed: 2);
        using var model = new VaeTrainer(new VaeModelOptions { HiddenSizes = [64, 32], LatentSize = 8 },
            new VaeTrainerOptions { SampleCount = 2, Epochs = 2, BatchSize = 10, Threads = 2, Seed = 3 }).Fit(images);
        AssertAgrees(model, new FeatureMatrix(images.Values[..(6 * 784)], 6, 784), sampleCount: 5000, seed: 2);
    }

    [TestMethod]
    public void LargeLogitsStayFinite()
    {
        // Logits of ±300 overflow a naive log(1 + exp(o)) and weights e^−300 a naive log-sum-exp.
        var options = TestData.SmallOptions();
        var layout = new ParameterLayout(options, 6);
        var parameters = TestData.RandomParameters(layout, 4);
        var output = layout.DecoderOutput.Bias;
        for (int i = 0; i < output.Length; i++) parameters[output.Offset + i] = i % 2 == 0 ? 300 : -300;
        using var model = new VaeModel(options, layout, parameters, [], threads: 2);
        var rows = TestData.Clusters(5, 6, seed: 1);
        var result = AssertAgrees(model, rows, sampleCount: 20, seed: 1);
        Assert.IsTrue(result["LogLikelihood"].All(float.IsFinite));
    }

    [TestMethod]
    public void SingleRowGraphTakesOneRowAndDropsTheBatchAxis()
    {
        using var model = RandomModel(TestData.SmallOptions(DecoderKind.Gaussian), features: 9, seed: 8);
        var rows = TestData.Clusters(3, 9, seed: 6);
        var options = new OnnxExportOptions { LogLikelihoodSampleCount = 30, Seed = 4, SingleRow = true, InputName = "Pixels", EmbeddingName = "Code" };
        using var session = new OnnxRuntimeSession(Export(model, options));
        var batch = new float[3];
        model.LogLikelihood(rows.Values, 3, batch, 30, seed: 4, sharedNoise: true);
        for (int r = 0; r < 3; r++)
        {
            var result = session.Run(rows.Row(r).ToArray(), 1, 9, "Pixels", singleRow: true);
            CollectionAssert.AreEqual(new[] { 1 }, result.Shapes["LogLikelihood"]);
            CollectionAssert.AreEqual(new[] { model.LatentSize }, result.Shapes["Code"]);
            CollectionAssert.AreEqual(new[] { 9 }, result.Shapes["Reconstruction"]);
            Assert.AreEqual(batch[r], result["LogLikelihood"][0], 1e-4 * Math.Abs(batch[r]));
        }
    }

    [TestMethod]
    public void ExportFileIsWrittenAtomically()
    {
        using var model = RandomModel(TestData.SmallOptions(), features: 9, seed: 8);
        var path = Path.Combine(Path.GetTempPath(), $"vae-export-{Guid.NewGuid():N}.onnx");
        try
        {
            model.ExportOnnx(path, new OnnxExportOptions { LogLikelihoodSampleCount = 10 });
            byte[] good = File.ReadAllBytes(path);
            Assert.ThrowsExactly<ArgumentException>(() => model.ExportOnnx(path, new OnnxExportOptions { LogLikelihoodSampleCount = 0 }));
            CollectionAssert.AreEqual(good, File.ReadAllBytes(path), "a refused export must leave the earlier file as it was");
            using var session = new OnnxRuntimeSession(good);
            Assert.IsTrue(session.Outputs.ContainsKey("LogLikelihood"));
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void AGraphHoldsOnlyTheOutputsAskedFor()
    {
        // ONNX Runtime runs every node on each call, so an embedding-only graph must not hold the K-sample log-likelihood.
        using var model = RandomModel(TestData.SmallOptions(), features: 9, seed: 8);
        var rows = TestData.Clusters(4, 9, seed: 2);
        using var session = new OnnxRuntimeSession(Export(model, new OnnxExportOptions { Outputs = OnnxOutputs.Embedding | OnnxOutputs.Reconstruction, EmbeddingName = "Z" }));
        CollectionAssert.AreEquivalent(new[] { "Z", "Reconstruction" }, session.Outputs.Keys.ToArray());
        var result = session.Run(rows.Values, rows.Rows, rows.Columns);
        AssertClose(model.Embed(rows).Values, result["Z"], 1e-5, 0, "Embedding");
        using var stream = new MemoryStream(Export(model, new OnnxExportOptions { Outputs = OnnxOutputs.Embedding }));
        Assert.IsFalse(Onnx.Protos.ModelProto.Parser.ParseFrom(stream).Graph.Node.Any(n => n.OpType == "Scan"), "no log-likelihood loop");
        // Names of outputs left out may repeat others: only the graph's own names must differ.
        Export(model, new OnnxExportOptions { Outputs = OnnxOutputs.LogLikelihood, EmbeddingName = "Features" });
    }

    [TestMethod]
    public void InvalidOptionsAreRefusedByName()
    {
        using var model = RandomModel(TestData.SmallOptions(), features: 9, seed: 8);
        var e = Assert.ThrowsExactly<ArgumentException>(() => Export(model, new OnnxExportOptions { LogLikelihoodSampleCount = -3 }));
        StringAssert.Contains(e.Message, "LogLikelihoodSampleCount");
        e = Assert.ThrowsExactly<ArgumentException>(() => Export(model, new OnnxExportOptions { EmbeddingName = "Features" }));
        StringAssert.Contains(e.Message, "InputName and EmbeddingName");
        e = Assert.ThrowsExactly<ArgumentException>(() => Export(model, new OnnxExportOptions { ReconstructionName = " " }));
        StringAssert.Contains(e.Message, "ReconstructionName");
        e = Assert.ThrowsExactly<ArgumentException>(() => Export(model, new OnnxExportOptions { Outputs = OnnxOutputs.None }));
        StringAssert.Contains(e.Message, "Outputs");
    }

    internal static VaeModel RandomModel(VaeModelOptions options, int features, int seed)
    {
        var layout = new ParameterLayout(options, features);
        return new VaeModel(options, layout, TestData.RandomParameters(layout, seed), [], threads: 2);
    }

    internal static byte[] Export(VaeModel model, OnnxExportOptions options)
    {
        using var stream = new MemoryStream();
        model.ExportOnnx(stream, options);
        return stream.ToArray();
    }

    private static OnnxRuntimeSession.Result AssertAgrees(VaeModel model, FeatureMatrix rows, int sampleCount, int seed)
    {
        using var session = new OnnxRuntimeSession(Export(model, new OnnxExportOptions { LogLikelihoodSampleCount = sampleCount, Seed = seed }));
        var result = session.Run(rows.Values, rows.Rows, rows.Columns);

        var mean = new float[rows.Rows * model.LatentSize];
        var logVariance = new float[mean.Length];
        model.Embed(rows.Values, rows.Rows, mean, logVariance);
        AssertClose(mean, result["Embedding"], 1e-5, 0, "Embedding");
        AssertClose(logVariance, result["EmbeddingLogVariance"], 1e-5, 0, "EmbeddingLogVariance");
        AssertClose(model.Reconstruct(rows).Values, result["Reconstruction"], 1e-5, 0, "Reconstruction");
        var logLikelihood = new float[rows.Rows];
        model.LogLikelihood(rows.Values, rows.Rows, logLikelihood, sampleCount, seed, sharedNoise: true);
        AssertClose(logLikelihood, result["LogLikelihood"], 0, 1e-4, "LogLikelihood");
        CollectionAssert.AreEqual(new[] { rows.Rows }, result.Shapes["LogLikelihood"]);
        return result;
    }

    internal static void AssertClose(float[] expected, float[] actual, double absolute, double relative, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, $"{what}: length");
        for (int i = 0; i < expected.Length; i++)
        {
            double tolerance = absolute + relative * Math.Abs(expected[i]);
            if (!(Math.Abs(expected[i] - actual[i]) <= tolerance))
                Assert.Fail($"{what}[{i}]: library {expected[i]:R}, ONNX Runtime {actual[i]:R} (tolerance {tolerance:G3}).");
        }
    }
}
