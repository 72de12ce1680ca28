using System.Security.Cryptography;
using Microsoft.ML.Vae.Anomaly;

namespace Microsoft.ML.Vae.Tests;

/// <summary>
/// Damaged and hostile model and detector files: every truncation, byte flips, and (with the checksum recomputed so
/// the parser sees them) hostile sizes and non-finite values at every offset. Each is either rejected with an
/// InvalidDataException, without allocating more than a small multiple of the file, or loads into something that
/// still computes finite outputs.
/// </summary>
[TestClass]
public sealed class FileFuzzTests
{
    private const int Columns = 6;
    private const long AllocationLimit = 64L << 20;
    private static readonly FeatureMatrix Rows = TestData.Clusters(40, Columns, seed: 2);

    private static byte[] ModelFile()
    {
        using var model = new VaeTrainer(new VaeModelOptions { HiddenSizes = [3], LatentSize = 2, Decoder = DecoderKind.Gaussian, LearnDecoderVariance = true },
            new VaeTrainerOptions { Epochs = 2, SampleCount = 2, BatchSize = 10, Threads = 1, ValidationFraction = 0.25 }).Fit(Rows);
        using var stream = new MemoryStream();
        model.Save(stream);
        return stream.ToArray();
    }

    private static byte[] DetectorFile()
    {
        using var detector = new VaeAnomalyTrainer(new VaeAnomalyDetectorOptions
        {
            Model = new VaeModelOptions { HiddenSizes = [3], LatentSize = 2 },
            Trainer = new VaeTrainerOptions { Epochs = 1, SampleCount = 1, BatchSize = 10, Threads = 1 },
            Score = AnomalyScoreKind.LatentNeighbourDistance, NeighbourCount = 3, FeatureScaling = FeatureScaling.MinMax,
            EvaluationSampleCount = 2, CalibrationFraction = 0.25, EnsembleSize = 2,
        }).Fit(Rows);
        using var stream = new MemoryStream();
        detector.Save(stream);
        return stream.ToArray();
    }

    private static void LoadModel(byte[] bytes)
    {
        using var model = VaeModel.Load(new MemoryStream(bytes));
        var row = new FeatureMatrix(Rows.Row(0).ToArray(), 1, Columns);
        Assert.IsTrue(model.Embed(row).Values.All(float.IsFinite), "a loaded model embeds to non-finite values");
        Assert.IsFalse(float.IsNaN(model.LogLikelihood(row, 2)[0]), "a loaded model scores NaN");
    }

    private static void LoadDetector(byte[] bytes)
    {
        using var detector = VaeAnomalyDetector.Load(new MemoryStream(bytes));
        Assert.IsTrue(double.IsFinite(detector.Threshold));
        Assert.IsFalse(float.IsNaN(detector.Score(new FeatureMatrix(Rows.Row(0).ToArray(), 1, Columns))[0]), "a loaded detector scores NaN");
    }

    public static IEnumerable<object[]> Formats() => [["model"], ["detector"]];

    private static (byte[] File, Action<byte[]> Load) Format(string name) => name == "model" ? (ModelFile(), LoadModel) : (DetectorFile(), LoadDetector);

    [TestMethod]
    [DynamicData(nameof(Formats))]
    public void TruncationsAndByteFlipsAreRejected(string format)
    {
        var (good, load) = Format(format);
        load(good);
        for (int length = 0; length < good.Length; length++)
            Assert.ThrowsExactly<InvalidDataException>(() => load(good[..length]), $"truncated to {length} bytes");
        for (int offset = 0; offset < good.Length; offset += 7)
        {
            var flipped = (byte[])good.Clone();
            flipped[offset] ^= (byte)(1 << (offset % 8));
            Assert.ThrowsExactly<InvalidDataException>(() => load(flipped), $"bit flipped at {offset}");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Formats))]
    public void HostileValuesBehindAValidChecksumAreRejectedBeforeAllocating(string format)
    {
        var (good, load) = Format(format);
        int payload = good.Length - SHA256.HashSizeInBytes;
        var planted = new List<byte[]>();
        foreach (int value in new[] { int.MaxValue, int.MinValue, -1, 0, 1 << 28 }) planted.Add(BitConverter.GetBytes(value));
        foreach (float value in new[] { float.NaN, float.PositiveInfinity }) planted.Add(BitConverter.GetBytes(value));
        planted.Add(BitConverter.GetBytes(double.NaN));
        int loaded = 0, rejected = 0;
        for (int offset = 12; offset < payload; offset++)
            foreach (var value in planted)
            {
                if (offset + value.Length > payload) continue;
                var bytes = (byte[])good.Clone();
                value.CopyTo(bytes, offset);
                SHA256.HashData(bytes.AsSpan(0, payload)).CopyTo(bytes, payload);
                long before = GC.GetAllocatedBytesForCurrentThread();
                try { load(bytes); loaded++; }
                catch (InvalidDataException) { rejected++; }
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                Assert.IsTrue(allocated < AllocationLimit, $"{BitConverter.ToString(value)} at {offset}: {allocated:N0} bytes allocated");
            }
        Assert.IsTrue(rejected > 0 && loaded > 0, $"{rejected} rejected, {loaded} loaded");
    }
}
