using Microsoft.ML.Vae.MLNet.Infrastructure;

namespace Microsoft.ML.Vae.MLNet.Tests;

[TestClass]
public sealed class VaeTrainingTests
{
    /// <summary>The shim's location (a file or a folder), docs/libtorch.md.</summary>
    private const string NativePathVariable = "VAE_NATIVE_PATH";

    /// <summary>
    /// The only test of this assembly that touches libtorch: it points the shim locator at a file that is not a library
    /// before the process first loads the shim, so the load fails as on a machine without libtorch.
    /// </summary>
    [TestMethod]
    public void WithAGpuIdAndNoLoadableLibTorchFitFallsBackToTheManagedEngineAndSaysSo()
    {
        string folder = Directory.CreateTempSubdirectory("vae-mlnet-shim").FullName;
        string shim = Path.Combine(folder, "not-a-library.so");
        File.WriteAllText(shim, "not a shared library");
        string? saved = Environment.GetEnvironmentVariable(NativePathVariable);
        try
        {
            Environment.SetEnvironmentVariable(NativePathVariable, shim);
            var mlContext = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = true };
            var messages = new List<string>();
            mlContext.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
            var data = mlContext.Data.LoadFromEnumerable(TestData.Normal(60, seed: 1));
            using var transformer = mlContext.Transforms.VaeEmbed("Embedding", "Features", TestData.SmallEmbedding(epochs: 1)).Fit(data);
            Assert.AreEqual("managed", transformer.Model.EngineName);
            lock (messages)
                Assert.IsTrue(messages.Any(m => m.Contains("runs on the managed engine") && m.Contains(shim)), string.Join(Environment.NewLine, messages));
            Assert.HasCount(60, TestData.Single(transformer.Transform(data), "LogLikelihood"));

            var strict = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = false };
            var error = Assert.ThrowsExactly<DllNotFoundException>(() =>
                strict.Transforms.VaeEmbed("Embedding", "Features", TestData.SmallEmbedding(epochs: 1)).Fit(data));
            StringAssert.Contains(error.Message, shim);
        }
        finally
        {
            Environment.SetEnvironmentVariable(NativePathVariable, saved);
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void WithoutAGpuIdTheEngineIsLeftAsTheOptionsSay()
    {
        var options = new VaeTrainerOptions();
        var mlContext = new MLContext();
        using var channel = ((Runtime.IHostEnvironment)mlContext).Register("test").Start("test");
        VaeTraining.SelectDevice(new ComponentContext(mlContext.Transforms), channel, options);
        Assert.AreEqual(EngineKind.Managed, options.Engine);
    }
}
