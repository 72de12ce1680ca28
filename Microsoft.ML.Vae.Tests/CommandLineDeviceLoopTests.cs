using System.Text.Json;

namespace Microsoft.ML.Vae.Tests;

/// <summary>`vae --train-on-device`: the libtorch device loop from the command line, and the host loop where it cannot run. Needs the shim.</summary>
[TestClass]
public sealed class CommandLineDeviceLoopTests
{
    [TestMethod]
    [DataRow("libtorch", "device")]
    [DataRow("managed", "host (the device loop needs the libtorch engine")]
    public void TrainOnDeviceSaysWhichLoopTrained(string engine, string loop)
    {
        string folder = Directory.CreateTempSubdirectory("vae-cli-device").FullName;
        try
        {
            string json = Path.Combine(folder, "r.json");
            var result = VaeProcess.Run("--data", VaeProcess.BundledSubset, "--train-size", "250", "--epochs", "2", "--k", "2", "--hidden", "16",
                "--latent", "3", "--eval-size", "10", "--eval-k", "20", "--engine", engine, "--device", "cpu", "--threads", "1",
                "--train-on-device", "--json", json);
            Assert.AreEqual(0, result.ExitCode, result.Output);
            using var summary = JsonDocument.Parse(File.ReadAllText(json));
            StringAssert.StartsWith(summary.RootElement.GetProperty("training_loop").GetString(), loop);
            Assert.AreEqual(2, summary.RootElement.GetProperty("epochs").GetInt32());
            Assert.IsTrue(summary.RootElement.GetProperty("test_log_likelihood").GetDouble() is var ll && double.IsFinite(ll) && ll < 0, $"log-likelihood {ll}");
        }
        finally { Directory.Delete(folder, recursive: true); }
    }
}
