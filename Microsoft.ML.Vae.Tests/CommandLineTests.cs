using System.Globalization;
using System.Text.Json;

namespace Microsoft.ML.Vae.Tests;

/// <summary>The `vae` program, run in fresh processes.</summary>
[TestClass]
public sealed class CommandLineTests
{
    private static (int ExitCode, string Output) Run(params string[] arguments)
    {
        var result = VaeProcess.Run(arguments);
        return (result.ExitCode, result.Output);
    }

    [TestMethod]
    public void TrainsOnTheBundledSubsetWritesJsonAndAFreshProcessScoresBitIdentically()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"vae-cli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            string subset = VaeProcess.BundledSubset;
            string model = Path.Combine(folder, "m.vae"), json = Path.Combine(folder, "r.json"), scores = Path.Combine(folder, "s.csv");
            var (code, output) = Run("--data", subset, "--train-size", "300", "--epochs", "1", "--k", "2", "--hidden", "32",
                "--latent", "4", "--eval-size", "20", "--eval-k", "50", "--out", model, "--json", json);
            Assert.AreEqual(0, code, output);
            using var summary = JsonDocument.Parse(File.ReadAllText(json));
            foreach (var key in new[] { "train_seconds", "ms_per_batch", "test_log_likelihood", "eval_seconds" })
                Assert.IsTrue(summary.RootElement.GetProperty(key).GetDouble() is var v && double.IsFinite(v), key);
            Assert.IsTrue(summary.RootElement.GetProperty("test_log_likelihood").GetDouble() < 0);

            string images = Path.Combine(subset, "t10k-images-idx3-ubyte.gz");
            (code, output) = Run("score", "--model", model, "--input", images, "--eval-k", "64", "--seed", "3", "--out", scores);
            Assert.AreEqual(0, code, output);
            var lines = File.ReadAllLines(scores);
            var loaded = VaeModel.Load(model);
            var rows = Datasets.IdxReader.ReadImages(images, maxCount: 25);
            var expected = loaded.LogLikelihood(rows, 64, seed: 3);
            var embedding = loaded.Embed(rows);
            for (int r = 0; r < rows.Rows; r++)
            {
                var cells = lines[r + 1].Split(',');
                Assert.AreEqual(expected[r], float.Parse(cells[1], CultureInfo.InvariantCulture), $"row {r} log-likelihood differs between processes");
                for (int d = 0; d < loaded.LatentSize; d++)
                    Assert.AreEqual(embedding.Row(r)[d], float.Parse(cells[2 + d], CultureInfo.InvariantCulture), $"row {r} z{d}");
            }

            if (Engine.Managed.LinearAlgebra.Int16Gemm.Width != Engine.Managed.LinearAlgebra.GemmVectorWidth.Scalar)
            {
                (code, output) = Run("score", "--model", model, "--input", images, "--eval-k", "64", "--seed", "3", "--precision", "int16", "--out", scores);
                Assert.AreEqual(0, code, output);
                StringAssert.Contains(output, "Int16");
                using var int16 = loaded.UseScoringPrecision(ScoringPrecision.Int16);
                var expectedInt16 = int16.LogLikelihood(rows, 64, seed: 3);
                lines = File.ReadAllLines(scores);
                for (int r = 0; r < rows.Rows; r++)
                    Assert.AreEqual(expectedInt16[r], float.Parse(lines[r + 1].Split(',')[1], CultureInfo.InvariantCulture), $"row {r} int16 log-likelihood");
            }
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [TestMethod]
    public void MissingDatasetSaysHowToGetIt()
    {
        var (code, output) = Run("--data", Path.Combine(Path.GetTempPath(), "no-such-folder"), "--epochs", "1");
        Assert.AreEqual(2, code);
        StringAssert.Contains(output, "apt-get install dataset-fashion-mnist");
    }

    [TestMethod]
    public void BadOptionsAreNamed()
    {
        var (code, output) = Run("--binarize", "sometimes", "--data", "x");
        Assert.AreEqual(2, code);
        StringAssert.Contains(output, "--binarize");
    }
}
