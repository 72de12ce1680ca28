using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using Microsoft.ML.Vae.Anomaly;
using Microsoft.ML.Vae.Datasets;

namespace Microsoft.ML.Vae.Tests;

/// <summary>User mistakes at the command line: one plain line on stderr, the option or file named, a non-zero exit, nothing overwritten.</summary>
[TestClass]
public sealed class CommandLineErrorTests
{
    private static string _folder = null!, _model = null!, _images = null!;

    [ClassInitialize]
    public static void TrainASmallModel(TestContext _)
    {
        _folder = Path.Combine(Path.GetTempPath(), $"vae-cli-errors-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_folder);
        _images = Path.Combine(VaeProcess.BundledSubset, "t10k-images-idx3-ubyte.gz");
        _model = Path.Combine(_folder, "m.vae");
        using var model = new VaeTrainer(new VaeModelOptions { HiddenSizes = [8], LatentSize = 2 }, new VaeTrainerOptions { Epochs = 1, SampleCount = 1, Threads = 1 })
            .Fit(IdxReader.ReadImages(_images, maxCount: 50));
        model.Save(_model);
    }

    [ClassCleanup]
    public static void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    private static string InFolder(string name) => Path.Combine(_folder, name);

    /// <summary>Exit code 2, exactly one line on stderr, plain text naming <paramref name="named"/>, no stack trace.</summary>
    private static void AssertUserError(VaeProcess.Result result, string named)
    {
        Assert.AreEqual(2, result.ExitCode, result.Output);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.AreEqual(1, lines.Length, $"stderr should be one line:\n{result.Stderr}");
        StringAssert.StartsWith(lines[0], "error: ");
        StringAssert.Contains(lines[0], named);
        Assert.IsFalse(result.Output.Contains('\u001b'), "colour codes in piped output");
        Assert.IsFalse(result.Output.Contains("   at "), "a stack trace");
    }

    /// <summary>A quick training run on the bundled subset; <paramref name="arguments"/> add options or replace the defaults.</summary>
    private static VaeProcess.Result Train(params string[] arguments) => TrainOn(VaeProcess.BundledSubset, arguments);

    private static VaeProcess.Result TrainOn(string data, params string[] arguments)
    {
        var options = new Dictionary<string, string> { ["--data"] = data, ["--train-size"] = "20", ["--epochs"] = "1", ["--hidden"] = "4", ["--latent"] = "2", ["--eval-size"] = "0" };
        for (int i = 0; i < arguments.Length; i += 2) options[arguments[i]] = arguments[i + 1];
        return VaeProcess.Run([.. options.SelectMany(o => new[] { o.Key, o.Value })]);
    }

    [TestMethod]
    public void ScoreRefusesFoldersMissingFilesAndOverwritingItsInputs()
    {
        byte[] model = File.ReadAllBytes(_model);
        AssertUserError(VaeProcess.Run("score", "--model", _model, "--input", _folder, "--out", InFolder("s.csv")), "--input");
        AssertUserError(VaeProcess.Run("score", "--model", _folder, "--input", _images, "--out", InFolder("s.csv")), "--model");
        AssertUserError(VaeProcess.Run("score", "--model", InFolder("none.vae"), "--input", _images, "--out", InFolder("s.csv")), "--model");
        AssertUserError(VaeProcess.Run("score", "--model", _model, "--input", _images, "--out", _folder), "--out");
        AssertUserError(VaeProcess.Run("score", "--model", _model, "--input", _images, "--out", InFolder("missing/s.csv")), "--out");
        AssertUserError(VaeProcess.Run("score", "--model", _model, "--input", _images, "--out", _model), "--model");
        CollectionAssert.AreEqual(model, File.ReadAllBytes(_model), "the model was overwritten");
        AssertUserError(VaeProcess.Run("score", "--model", _images, "--input", _images, "--out", InFolder("s.csv")), "not a Microsoft.ML.Vae model file");
        AssertUserError(VaeProcess.Run("score", "--model", _model, "--input", _images, "--eval-k", "0", "--out", InFolder("s.csv")), "--eval-k");
        AssertUserError(VaeProcess.Run("score", "--model", _model, "--input", _images, "--precision", "int8", "--out", InFolder("s.csv")), "--precision");
    }

    [TestMethod]
    public void ScoreReadsCsvAndNumbersRowsByLineFromOneInOutputAndErrors()
    {
        var images = IdxReader.ReadImages(_images, maxCount: 2);
        string Line(int r) => string.Join(",", images.Row(r).ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        string csv = InFolder("rows.csv"), scores = InFolder("csv-scores.csv");
        File.WriteAllText(csv, Line(0) + "\n\n" + Line(1) + "\n"); // a blank line 2
        var result = VaeProcess.Run("score", "--model", _model, "--input", csv, "--eval-k", "20", "--out", scores);
        Assert.AreEqual(0, result.ExitCode, result.Output);
        using var model = VaeModel.Load(_model);
        var expected = model.LogLikelihood(images, 20, seed: 0);
        var lines = File.ReadAllLines(scores);
        Assert.AreEqual(3, lines.Length);
        for (int r = 0; r < 2; r++)
        {
            var cells = lines[r + 1].Split(',');
            Assert.AreEqual(r == 0 ? "1" : "3", cells[0], "the row column is the input's line number");
            Assert.AreEqual(expected[r], float.Parse(cells[1], CultureInfo.InvariantCulture), $"line {cells[0]}");
        }

        string bad = InFolder("bad.csv");
        File.WriteAllText(bad, Line(0) + "\n" + string.Join(",", Enumerable.Repeat("x", 784)) + "\n");
        AssertUserError(VaeProcess.Run("score", "--model", _model, "--input", bad, "--out", InFolder("s.csv")), "line 2, column 1");
        File.WriteAllText(bad, Line(0) + "\n\n0,1.5," + string.Join(",", Enumerable.Repeat("0", 782)) + "\n");
        AssertUserError(VaeProcess.Run("score", "--model", _model, "--input", bad, "--out", InFolder("s.csv")), "line 3, column 2 is 1.5, outside [0, 1]");
        File.WriteAllText(bad, Line(0) + "\n0.5,0.5\n");
        AssertUserError(VaeProcess.Run("score", "--model", _model, "--input", bad, "--out", InFolder("s.csv")), "line 2 has 2 values but the model takes 784");
    }

    [TestMethod]
    public void HugeIntegersNameTheCommandLineOption()
    {
        foreach (var (option, value) in new[] { ("--k", "2147483647"), ("--latent", "2147483647"), ("--hidden", "2147483647"), ("--threads", "2147483647") })
        {
            var result = Train(option, value);
            AssertUserError(result, option);
            foreach (string property in new[] { "SampleCount", "LatentSize", "HiddenSizes", "Threads" })
                Assert.IsFalse(result.Stderr.Contains(property), $"{option}: the library's name {property} in '{result.Stderr}'");
        }
    }

    [TestMethod]
    public void BatchLargerThanTheDataTrainsAndWritesFiniteTimings()
    {
        string json = InFolder("batch.json");
        var result = Train("--batch", "2147483647", "--json", json);
        Assert.AreEqual(0, result.ExitCode, result.Output);
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        Assert.AreEqual(20, summary.RootElement.GetProperty("batch").GetInt32());
        Assert.IsTrue(double.IsFinite(summary.RootElement.GetProperty("ms_per_batch").GetDouble()));
    }

    [TestMethod]
    public void DivergedTrainingSavesNothing()
    {
        string output = InFolder("diverged.vae");
        AssertUserError(Train("--lr", "1e30", "--batch", "20", "--out", output), "diverged");
        Assert.IsFalse(File.Exists(output));
    }

    [TestMethod]
    public void TrainingChecksItsOutputsBeforeTraining()
    {
        AssertUserError(Train("--out", _folder), "--out");
        AssertUserError(Train("--json", InFolder("missing/r.json")), "--json");
        AssertUserError(Train("--eval-precision", "int16", "--engine", "libtorch"), "--eval-precision int16 runs on the managed engine only");
        AssertUserError(Train("--eval-precision", "bf16"), "--eval-precision");
    }

    [TestMethod]
    public void DamagedIdxFilesNameTheFileAndTheProblem()
    {
        string data = InFolder("idx");
        Directory.CreateDirectory(data);
        foreach (string file in Directory.GetFiles(VaeProcess.BundledSubset)) File.Copy(file, Path.Combine(data, Path.GetFileName(file)));
        string images = Path.Combine(data, "t10k-images-idx3-ubyte.gz");
        var train = () => TrainOn(data, "--eval-size", "5");

        // A gzip header, then a deflate block of the reserved (invalid) block type.
        File.WriteAllBytes(images, [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff]);
        AssertUserError(train(), "t10k-images-idx3-ubyte.gz");

        WriteIdxHeader(images, count: int.MaxValue, rows: 28, columns: 28);
        AssertUserError(train(), "t10k-images-idx3-ubyte.gz");
        WriteIdxHeader(images, count: 10, rows: 65536, columns: 65536);
        AssertUserError(train(), "65536 × 65536 pixels");
        // Test images of another size than the training images are refused before training.
        WriteIdxHeader(images, count: 10, rows: 14, columns: 14, pixels: new byte[10 * 14 * 14]);
        var result = train();
        AssertUserError(result, "196 pixels");
        Assert.IsFalse(result.Stdout.Contains("epoch 1"), "trained before finding the mismatch");
    }

    private static void WriteIdxHeader(string path, int count, int rows, int columns, byte[]? pixels = null)
    {
        using var file = new GZipStream(File.Create(path), CompressionLevel.Fastest);
        var header = new byte[16];
        header[2] = 0x08;
        header[3] = 3;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), columns);
        file.Write(header);
        file.Write(pixels ?? new byte[1000]);
    }

    [TestMethod]
    public void ScoreWithSharedNoiseEqualsTheLibrarysSharedNoiseEstimate()
    {
        string scores = InFolder("shared.csv");
        var result = VaeProcess.Run("score", "--model", _model, "--input", _images, "--eval-k", "30", "--seed", "4", "--shared-noise", "--out", scores);
        Assert.AreEqual(0, result.ExitCode, result.Output);
        using var model = VaeModel.Load(_model);
        var rows = IdxReader.ReadImages(_images);
        var expected = new float[rows.Rows];
        model.LogLikelihood(rows.Values, rows.Rows, expected, 30, seed: 4, sharedNoise: true);
        var independent = model.LogLikelihood(rows, 30, seed: 4);
        var lines = File.ReadAllLines(scores);
        Assert.AreEqual(rows.Rows + 1, lines.Length);
        for (int r = 0; r < rows.Rows; r++)
            Assert.AreEqual(expected[r], float.Parse(lines[r + 1].Split(',')[1], CultureInfo.InvariantCulture), $"row {r}");
        Assert.IsTrue(Enumerable.Range(0, rows.Rows).Any(r => expected[r] != independent[r]), "--shared-noise changed nothing");
    }

    [TestMethod]
    public void ExportTellsADetectorFileByItsHeaderAndWritesItsScores()
    {
        string detectorPath = InFolder("d.vaead"), onnx = InFolder("d.onnx");
        var rows = IdxReader.ReadImages(_images, maxCount: 60);
        using (var trained = new VaeAnomalyTrainer(new VaeAnomalyDetectorOptions
        {
            Model = new VaeModelOptions { HiddenSizes = [8], LatentSize = 2 },
            Trainer = new VaeTrainerOptions { Epochs = 1, SampleCount = 1, Threads = 1 },
            EvaluationSampleCount = 10, CalibrationFraction = 0.2,
        }).Fit(rows))
            trained.Save(detectorPath);
        var result = VaeProcess.Run("export", "--model", detectorPath, "--out", onnx);
        Assert.AreEqual(0, result.ExitCode, result.Output);
        StringAssert.Contains(result.Stdout, "anomaly detector");
        using var detector = VaeAnomalyDetector.Load(detectorPath);
        var expected = detector.Score(rows);
        using var session = new OnnxRuntimeSession(File.ReadAllBytes(onnx));
        var graph = session.Run(rows.Values, rows.Rows, rows.Columns)["Score"];
        for (int r = 0; r < rows.Rows; r++) Assert.AreEqual(expected[r], graph[r], 1e-4 * Math.Abs(expected[r]), $"row {r}");
    }

    [TestMethod]
    public void ExportWritesAModelThatOnnxRuntimeScoresAsScoreWithSharedNoiseDoes()
    {
        string onnx = InFolder("m.onnx"), scores = InFolder("export.csv");
        var result = VaeProcess.Run("export", "--model", _model, "--out", onnx, "--eval-k", "40", "--seed", "2");
        Assert.AreEqual(0, result.ExitCode, result.Output);
        Assert.AreEqual(0, VaeProcess.Run("score", "--model", _model, "--input", _images, "--eval-k", "40", "--seed", "2", "--shared-noise", "--out", scores).ExitCode);
        var rows = IdxReader.ReadImages(_images, maxCount: 20);
        using var session = new OnnxRuntimeSession(File.ReadAllBytes(onnx));
        var graph = session.Run(rows.Values, rows.Rows, rows.Columns)["LogLikelihood"];
        var lines = File.ReadAllLines(scores);
        for (int r = 0; r < rows.Rows; r++)
        {
            float cli = float.Parse(lines[r + 1].Split(',')[1], CultureInfo.InvariantCulture);
            Assert.AreEqual(cli, graph[r], 1e-4 * Math.Abs(cli), $"row {r}: score --shared-noise {cli}, ONNX {graph[r]}");
        }
        AssertUserError(VaeProcess.Run("export", "--model", _images, "--out", InFolder("x.onnx")), "not a Microsoft.ML.Vae model file");
        AssertUserError(VaeProcess.Run("export", "--model", _model, "--out", _model), "--model");
        AssertUserError(VaeProcess.Run("export", "--model", _model, "--out", InFolder("y.onnx"), "--eval-k", "0"), "--eval-k");
        // K's shared noise is K × LatentSize floats: a K that cannot fit is refused by name, not an OverflowException.
        AssertUserError(VaeProcess.Run("export", "--model", _model, "--out", InFolder("z.onnx"), "--eval-k", "2147483647"), "--eval-k");
        AssertUserError(VaeProcess.Run("score", "--model", _model, "--input", _images, "--eval-k", "2147483647", "--shared-noise", "--out", InFolder("k.csv")), "--eval-k");
    }
}
