using Microsoft.ML.Vae.Engine;
using Microsoft.ML.Vae.Engine.LibTorch;
using Microsoft.ML.Vae.Engine.Managed;
using Microsoft.ML.Vae.Mathematics;
using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>
/// The libtorch engine against the managed one (the reference): same parameters and noise, same results to float32
/// rounding. These tests need the native shim (eng/build-native.sh); without it they fail with the remedy.
/// </summary>
[TestClass]
public sealed class LibTorchEngineTests
{
    private const int Rows = 5, Features = 7;

    public static IEnumerable<object[]> Cases() => TestData.EngineCases();

    public static IEnumerable<object[]> Decoders()
    {
        foreach (var (decoder, learn) in new[] { (DecoderKind.Bernoulli, false), (DecoderKind.Gaussian, false), (DecoderKind.Gaussian, true) })
            foreach (int k in new[] { 1, 6 })
                yield return [decoder, learn, k];
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void BoundAndGradientMatchManagedEngine(Activation activation, DecoderKind decoder, bool learnVariance, int k, bool analyticKl)
    {
        var (layout, parameters, x) = Setup(decoder, activation, learnVariance, seed: k);
        var noise = TestData.Normal(Rows * k * layout.LatentSize, seed: 3);
        using var engines = new EngineTrio(layout, parameters);
        engines.AssertGradientsAgree(x.Values, Rows, noise, k, new ObjectiveSettings(analyticKl));
    }

    [TestMethod]
    [DynamicData(nameof(Decoders))]
    public void EmbeddingsLogWeightsAndDecoderOutputsMatchManagedEngine(DecoderKind decoder, bool learnVariance, int k)
    {
        var (layout, parameters, x) = Setup(decoder, Activation.Tanh, learnVariance, seed: 11);
        var noise = TestData.Normal(Rows * k * layout.LatentSize, seed: 12);
        using var engines = new EngineTrio(layout, parameters);
        engines.AssertEncodingsAgree(x.Values, Rows);
        engines.AssertAgree("log weight", engine =>
        {
            var weights = new float[Rows * k];
            engine.LogWeights(x.Values, Rows, noise, k, weights);
            return weights;
        });
        var z = TestData.Normal(Rows * k * layout.LatentSize, seed: 13);
        engines.AssertAgree("decoder output", engine =>
        {
            var output = new float[Rows * k * Features];
            engine.Decode(z, Rows * k, output);
            return output;
        });
    }

    [TestMethod]
    [DataRow(DecoderKind.Bernoulli, false, 4, false)]
    [DataRow(DecoderKind.Gaussian, true, 1, true)]
    [DataRow(DecoderKind.Gaussian, false, 3, false)]
    public void AdamStepsMatchManagedEngine(DecoderKind decoder, bool learnVariance, int k, bool analyticKl)
    {
        var (layout, parameters, x) = Setup(decoder, Activation.Softplus, learnVariance, seed: 21);
        using var engines = new EngineTrio(layout, parameters);
        engines.AssertAdamStepsAgree(x, k, noiseSeed: 22, steps: 5, _ => new ObjectiveSettings(analyticKl));
    }

    [TestMethod]
    public void ModelTrainedOnLibTorchScoresTheSameOnManagedEngineAndAfterSaving()
    {
        var data = TestData.Clusters(60, Features, seed: 31);
        var modelOptions = TestData.SmallOptions();
        var trainerOptions = new VaeTrainerOptions { SampleCount = 3, Epochs = 3, BatchSize = 20, LearningRate = 5e-3f, Seed = 32, Threads = 2 };
        using var managedModel = new VaeTrainer(modelOptions, trainerOptions).Fit(data);
        trainerOptions.Engine = EngineKind.LibTorch;
        trainerOptions.Device = "cpu";
        using var model = new VaeTrainer(modelOptions, trainerOptions).Fit(data);

        // Training itself agrees: the same seed gives the same bounds and nearly the same weights on both engines.
        for (int epoch = 0; epoch < 3; epoch++)
            Assert.AreEqual(managedModel.History[epoch].TrainingBound, model.History[epoch].TrainingBound,
                1e-4 * Math.Abs(managedModel.History[epoch].TrainingBound), $"training bound of epoch {epoch + 1}");
        AssertClose(managedModel.Parameters.ToArray(), model.Parameters.ToArray(), "trained parameters", model.Layout, relative: 1e-3f);

        // The trained model scores on libtorch; on the managed engine, given the model's per-row noise, it agrees.
        StringAssert.StartsWith(model.EngineName, "libtorch");
        const int k = 40, seed = 33;
        float[] libTorchScores = model.LogLikelihood(data, sampleCount: k, seed: seed);
        using var managedScoring = model.UseEngine(EngineKind.Managed);
        Assert.AreEqual("managed", managedScoring.EngineName);
        float[] scores = managedScoring.LogLikelihood(data, sampleCount: k, seed: seed);
        using var engines = new EngineTrio(model.Layout, model.Parameters.ToArray());
        var noise = new float[k * model.LatentSize];
        var weights = new float[k];
        var referenceScores = new float[data.Rows];
        for (int r = 0; r < data.Rows; r++)
        {
            new RandomSource(seed, r).FillNormal(noise);
            engines.Reference.LogWeights(data.Values.AsSpan(r * Features, Features), 1, noise, k, weights);
            referenceScores[r] = (float)LogSpace.LogMeanExp(weights);
        }
        EngineTrio.AssertAgree("log-likelihood", referenceScores, scores, libTorchScores);

        float[] Embedding(IVaeBackend engine)
        {
            var (mean, logVariance) = (new float[data.Rows * model.LatentSize], new float[data.Rows * model.LatentSize]);
            engine.Encode(data.Values, data.Rows, mean, logVariance);
            return mean;
        }
        var embedding = Embedding(engines.Reference);
        EngineTrio.AssertAgree("embedding", embedding, managedScoring.Embed(data).Values, Embedding(engines.LibTorch));
        float[] Reconstruction(IVaeBackend engine)
        {
            var output = new float[data.Rows * Features];
            engine.Decode(embedding, data.Rows, output);
            return output;
        }
        var z = new FeatureMatrix(embedding, data.Rows, model.LatentSize);
        EngineTrio.AssertAgree("reconstruction", Reconstruction(engines.Reference), managedScoring.Decode(z).Values, Reconstruction(engines.LibTorch));

        // Saved and loaded, the model scores exactly as before.
        using var stream = new MemoryStream();
        model.Save(stream);
        stream.Position = 0;
        using var loaded = VaeModel.Load(stream);
        CollectionAssert.AreEqual(scores, loaded.LogLikelihood(data, sampleCount: k, seed: seed));
        CollectionAssert.AreEqual(model.Parameters.ToArray(), loaded.Parameters.ToArray());
    }

    [TestMethod]
    public void ConcurrentScoringCallsGiveTheSequentialResults()
    {
        var (layout, parameters, x) = Setup(DecoderKind.Bernoulli, Activation.Tanh, false, seed: 41);
        using var libTorch = CreateLibTorch(layout);
        libTorch.SetParameters(parameters);
        const int k = 8, calls = 6;
        var noises = Enumerable.Range(0, calls).Select(i => TestData.Normal(Rows * k * layout.LatentSize, seed: 42 + i)).ToArray();
        var sequential = noises.Select(noise =>
        {
            var w = new float[Rows * k];
            libTorch.LogWeights(x.Values, Rows, noise, k, w);
            return w;
        }).ToArray();
        var concurrent = new float[calls][];
        Parallel.For(0, calls, new ParallelOptions { MaxDegreeOfParallelism = 3 }, i =>
        {
            concurrent[i] = new float[Rows * k];
            libTorch.LogWeights(x.Values, Rows, noises[i], k, concurrent[i]);
        });
        for (int i = 0; i < calls; i++) CollectionAssert.AreEqual(sequential[i], concurrent[i], $"call {i}");
    }

    [TestMethod]
    public void EngineIsChosenThroughTheFactoryAndNamesItsDevice()
    {
        var layout = new ParameterLayout(TestData.SmallOptions(), Features);
        int cudaDevices = LibTorchLibrary.Shared.CudaDeviceCount();
        using (var cpu = BackendFactory.Create(layout, EngineKind.LibTorch, threads: 2, device: "cpu", fallbackToCpu: false))
            StringAssert.StartsWith(cpu.Name, $"libtorch {LibTorchLibrary.Shared.TorchVersion} (cpu)");
        using (var automatic = BackendFactory.Create(layout, EngineKind.LibTorch, threads: 2))
            StringAssert.Contains(automatic.Name, cudaDevices > 0 ? "(cuda:0)" : "(cpu, fallback: libtorch sees no CUDA device");
        if (cudaDevices == 0)
        {
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => BackendFactory.Create(layout, EngineKind.LibTorch, 2, "cuda", fallbackToCpu: false));
            StringAssert.Contains(e.Message, "FallbackToCpu = false");
        }
    }

    [TestMethod]
    [DataRow(null, true, 0, "cpu", "cpu, fallback: libtorch sees no CUDA device")]
    [DataRow(null, false, 2, "cuda:0", "cuda:0")]
    [DataRow("CPU", false, 2, "cpu", "cpu")]
    [DataRow("cuda", false, 1, "cuda:0", "cuda:0")]
    [DataRow(" cuda:1 ", false, 2, "cuda:1", "cuda:1")]
    [DataRow("cuda:2", true, 2, "cpu", "cpu, fallback: libtorch sees only 2 CUDA device(s)")]
    public void DeviceOptionResolves(string? requested, bool fallbackToCpu, int cudaDevices, string torchName, string description)
    {
        var device = LibTorchDevice.Resolve(requested, fallbackToCpu, cudaDevices);
        Assert.AreEqual(torchName, device.TorchName);
        StringAssert.StartsWith(device.Description, description);
    }

    [TestMethod]
    [DataRow(null, 0)]
    [DataRow("cuda", 0)]
    [DataRow("cuda:1", 1)]
    public void ForbiddenFallbackIsAnError(string? requested, int cudaDevices)
    {
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => LibTorchDevice.Resolve(requested, fallbackToCpu: false, cudaDevices));
        StringAssert.Contains(e.Message, "FallbackToCpu = false");
        StringAssert.Contains(e.Message, "Device = \"cpu\"");
    }

    [TestMethod]
    [DataRow("gpu")]
    [DataRow("cuda:")]
    [DataRow("cuda:-1")]
    [DataRow("cuda:x")]
    public void UnknownDeviceIsRejected(string requested)
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => LibTorchDevice.Resolve(requested, fallbackToCpu: true, cudaDevices: 1));
        StringAssert.Contains(e.Message, $"VaeTrainerOptions.Device '{requested}' is not a device");
    }

    [TestMethod]
    public void NativeErrorsBecomeExceptionsWithTheNativeMessage()
    {
        var (layout, parameters, _) = Setup(DecoderKind.Bernoulli, Activation.Tanh, false, seed: 51);
        var library = LibTorchLibrary.Shared;
        using var model = library.CreateModel(layout, "cpu");

        // Past the C# checks, straight to the shim: it reports instead of throwing across the boundary.
        var e = Assert.ThrowsExactly<ArgumentException>(() => library.SetParameters(model, parameters.AsSpan(1)));
        StringAssert.Contains(e.Message, $"expected {layout.Count} parameters, got {layout.Count - 1}");
        var device = Assert.ThrowsExactly<ArgumentException>(() => library.CreateModel(layout, "cuda:99"));
        StringAssert.Contains(device.Message, "libtorch engine: ");
        StringAssert.Contains(device.Message, "CUDA");

        // The model is intact after a failed call.
        library.SetParameters(model, parameters);
        var roundTrip = new float[layout.Count];
        library.GetParameters(model, roundTrip);
        CollectionAssert.AreEqual(parameters, roundTrip);
    }

    [TestMethod]
    public void DisposedEngineRefusesCalls()
    {
        var (layout, parameters, x) = Setup(DecoderKind.Bernoulli, Activation.Tanh, false, seed: 61);
        var libTorch = CreateLibTorch(layout);
        libTorch.SetParameters(parameters);
        libTorch.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(() => libTorch.Encode(x.Values, Rows, new float[Rows * 3], new float[Rows * 3]));
        libTorch.Dispose();
    }

    [TestMethod]
    public void BatchesOfTheWrongSizeAreRejectedBeforeReachingTheShim()
    {
        var (layout, parameters, x) = Setup(DecoderKind.Bernoulli, Activation.Tanh, false, seed: 71);
        using var libTorch = CreateLibTorch(layout);
        libTorch.SetParameters(parameters);
        var noise = TestData.Normal(Rows * 2 * layout.LatentSize, seed: 72);
        var e = Assert.ThrowsExactly<ArgumentException>(() => libTorch.LogWeights(x.Values, Rows, noise, 3, new float[Rows * 3]));
        Assert.AreEqual("noise", e.ParamName);
        e = Assert.ThrowsExactly<ArgumentException>(() => libTorch.LogWeights(x.Values, Rows, noise, 2, new float[Rows]));
        Assert.AreEqual("logWeights", e.ParamName);
        e = Assert.ThrowsExactly<ArgumentException>(() => libTorch.Decode(new float[5], 2, new float[2 * Features]));
        Assert.AreEqual("z", e.ParamName);
    }

    [TestMethod]
    public void MissingShimNamesEveryRemedy()
    {
        string folder = Directory.CreateTempSubdirectory("vae-no-shim").FullName;
        try
        {
            string candidate = Path.Combine(folder, LibTorchLocator.ShimFileName);
            var e = Assert.ThrowsExactly<DllNotFoundException>(() => LibTorchLocator.FindShim([candidate]));
            foreach (var remedy in new[] { candidate, "eng/build-native.sh", "LIBTORCH=", "LIBTORCH_USE_PYTORCH=1", "libtorch-dev", "VAE_NATIVE_PATH", "next to Microsoft.ML.Vae.dll", "EngineKind.Managed" })
                StringAssert.Contains(e.Message, remedy);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [TestMethod]
    public void AShimThatCannotBeLoadedFallsBackToTheManagedEngineOnlyWhenAllowed()
    {
        string folder = Directory.CreateTempSubdirectory("vae-bad-shim").FullName;
        try
        {
            string missing = Path.Combine(folder, LibTorchLocator.ShimFileName);
            string notALibrary = Path.Combine(Directory.CreateDirectory(Path.Combine(folder, "text")).FullName, LibTorchLocator.ShimFileName);
            File.WriteAllText(notALibrary, "not a shared library");
            var (layout, parameters, x) = Setup(DecoderKind.Gaussian, Activation.Tanh, false, seed: 61);
            using var reference = new ManagedBackend(layout, threads: 1);
            reference.SetParameters(parameters);
            var expected = new float[Rows * layout.LatentSize];
            reference.Encode(x.Values, Rows, expected, new float[expected.Length]);
            foreach (string shim in new[] { missing, notALibrary })
            {
                using var fallback = BackendFactory.CreateLibTorch(layout, threads: 1, "cuda:0", fallbackToCpu: true, () => LibTorchLibrary.Load([shim]));
                Assert.IsInstanceOfType<ManagedBackend>(fallback, shim);
                StringAssert.Contains(fallback.Name, "fallback from libtorch");
                StringAssert.Contains(fallback.Name, shim, "the reason names the shim");
                fallback.SetParameters(parameters);
                var mean = new float[expected.Length];
                fallback.Encode(x.Values, Rows, mean, new float[mean.Length]);
                CollectionAssert.AreEqual(expected, mean, "the fallback computes what the managed engine computes");
                var e = Assert.ThrowsExactly<DllNotFoundException>(() =>
                    BackendFactory.CreateLibTorch(layout, threads: 1, "cuda:0", fallbackToCpu: false, () => LibTorchLibrary.Load([shim])));
                StringAssert.Contains(e.Message, shim);
            }
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [TestMethod]
    public void ShimIsSearchedInNativePathFirstThenNextToTheAssemblyThenInNativeBuild()
    {
        Assert.AreEqual(LibTorchLocator.FindShim(LibTorchLocator.ShimCandidates()), LibTorchLibrary.Shared.Path, "the shim loaded is the first one found");
        string folder = Directory.CreateTempSubdirectory("vae-native-path").FullName;
        string? saved = Environment.GetEnvironmentVariable(LibTorchLocator.NativePathVariable);
        try
        {
            Environment.SetEnvironmentVariable(LibTorchLocator.NativePathVariable, folder);
            var candidates = LibTorchLocator.ShimCandidates().ToList();
            Assert.AreEqual(Path.Combine(folder, LibTorchLocator.ShimFileName), candidates[0]);
            string assemblyFolder = Path.GetDirectoryName(typeof(LibTorchLocator).Assembly.Location)!;
            Assert.AreEqual(Path.Combine(assemblyFolder, LibTorchLocator.ShimFileName), candidates[1]);
            int firstBuild = candidates.FindIndex(c => c.Contains(Path.Combine("native", "build")));
            Assert.IsTrue(firstBuild > 1, "native/build comes after the explicit and the assembly folders");
        }
        finally
        {
            Environment.SetEnvironmentVariable(LibTorchLocator.NativePathVariable, saved);
            Directory.Delete(folder);
        }
    }

    internal static LibTorchBackend CreateLibTorch(ParameterLayout layout) => new(LibTorchLibrary.Shared, layout, threads: 2, device: "cpu", fallbackToCpu: false);

    private static (ParameterLayout Layout, float[] Parameters, FeatureMatrix X) Setup(DecoderKind decoder, Activation activation, bool learnVariance, int seed)
    {
        var x = TestData.Clusters(Rows, Features, seed);
        var layout = new ParameterLayout(TestData.SmallOptions(decoder, activation, learnVariance), Features);
        return (layout, TestData.RandomParameters(layout, seed + 100), x);
    }

    /// <summary>
    /// Whole training runs (the trainer's batching, noise and options reaching both engines): each value within a
    /// relative tolerance of the largest magnitude of its tensor. Single passes and steps are judged against the
    /// float64 reference instead (<see cref="EngineTrio"/>); there is no float64 trainer to judge whole runs by.
    /// </summary>
    internal static void AssertClose(float[] expected, float[] actual, string what, ParameterLayout layout, float relative)
    {
        Assert.AreEqual(expected.Length, actual.Length, $"{what}: length");
        var blocks = layout?.Tensors.Select(t => (t.Name, t.Offset, t.Length)) ?? [(what, 0, expected.Length)];
        foreach (var (name, offset, length) in blocks)
        {
            float scale = 0;
            for (int i = offset; i < offset + length; i++) scale = Math.Max(scale, Math.Abs(expected[i]));
            for (int i = offset; i < offset + length; i++)
                Assert.AreEqual(expected[i], actual[i], relative * (scale + 1e-3f), $"{what}: {name}[{i - offset}] (largest magnitude {scale})");
        }
    }
}
