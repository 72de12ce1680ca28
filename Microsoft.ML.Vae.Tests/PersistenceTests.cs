namespace Microsoft.ML.Vae.Tests;

[TestClass]
public sealed class PersistenceTests
{
    private static readonly FeatureMatrix Data = TestData.Clusters(64, 10, seed: 1);

    private static VaeModel Train(DecoderKind decoder = DecoderKind.Gaussian) =>
        new VaeTrainer(TestData.SmallOptions(decoder, learnVariance: decoder == DecoderKind.Gaussian),
            new VaeTrainerOptions { SampleCount = 2, Epochs = 2, BatchSize = 16, Threads = 2, ValidationFraction = 0.25 }).Fit(Data);

    private static string TempPath() => Path.Combine(Path.GetTempPath(), $"vae-test-{Guid.NewGuid():N}.vae");

    [TestMethod]
    public void SaveLoadRoundTripGivesBitIdenticalOutputs()
    {
        var model = Train();
        string path = TempPath();
        try
        {
            model.Save(path);
            var loaded = VaeModel.Load(path);
            CollectionAssert.AreEqual(model.Embed(Data).Values, loaded.Embed(Data).Values);
            CollectionAssert.AreEqual(model.LogLikelihood(Data, 50, seed: 3), loaded.LogLikelihood(Data, 50, seed: 3));
            CollectionAssert.AreEqual(model.Reconstruct(Data).Values, loaded.Reconstruct(Data).Values);
            Assert.AreEqual(model.History.Count, loaded.History.Count);
            Assert.AreEqual(model.History[^1].ValidationBound, loaded.History[^1].ValidationBound);
            CollectionAssert.AreEqual(model.Options.HiddenSizes, loaded.Options.HiddenSizes);
            Assert.AreEqual(model.Options.LearnDecoderVariance, loaded.Options.LearnDecoderVariance);
            Assert.AreEqual(0, Directory.GetFiles(Path.GetDirectoryName(path)!, $"{Model.AtomicFile.TemporaryPrefix(path)}*").Length, "temporary files left behind");
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void StreamRoundTripMatchesFileFormat()
    {
        var model = Train(DecoderKind.Bernoulli);
        using var stream = new MemoryStream();
        model.Save(stream);
        stream.Position = 0;
        var loaded = VaeModel.Load(stream);
        CollectionAssert.AreEqual(model.LogLikelihood(Data, 20, seed: 1), loaded.LogLikelihood(Data, 20, seed: 1));
    }

    [TestMethod]
    public void CorruptedTruncatedOrForeignFilesAreRejectedClearly()
    {
        using var stream = new MemoryStream();
        Train().Save(stream);
        byte[] good = stream.ToArray();

        var flipped = (byte[])good.Clone();
        flipped[good.Length / 2] ^= 0x40;
        StringAssert.Contains(LoadError(flipped), "corrupted");

        StringAssert.Contains(LoadError(good[..(good.Length - 100)]), "corrupted or truncated");
        StringAssert.Contains(LoadError(good[..6]), "not a Microsoft.ML.Vae model file");
        StringAssert.Contains(LoadError("hello world, not a model"u8.ToArray()), "not a Microsoft.ML.Vae model file");

        var future = (byte[])good.Clone();
        BitConverter.GetBytes(99).CopyTo(future, 8);
        StringAssert.Contains(LoadError(future), "format version 99");
    }

    [TestMethod]
    public void FailedSaveLeavesTheExistingFileIntact()
    {
        var model = Train();
        string folder = Path.Combine(Path.GetTempPath(), $"vae-save-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            string path = Path.Combine(folder, "model.vae");
            model.Save(path);
            byte[] before = File.ReadAllBytes(path);
            // A save to the same path that fails halfway (a full disk, a crash of the writer) leaves the old file whole.
            var e = Assert.ThrowsExactly<IOException>(() => Model.AtomicFile.Write(path, "model", stream =>
            {
                stream.Write(before.AsSpan(0, before.Length / 2));
                throw new IOException("No space left on device");
            }));
            StringAssert.Contains(e.Message, "No space left");
            CollectionAssert.AreEqual(before, File.ReadAllBytes(path));
            // A save whose target is a folder fails: nothing is half-written, no temp file remains.
            string blocked = Path.Combine(folder, "blocked.vae");
            Directory.CreateDirectory(blocked);
            Assert.Throws<IOException>(() => model.Save(blocked), "saving over a folder");
            Assert.ThrowsExactly<DirectoryNotFoundException>(() => model.Save(Path.Combine(folder, "missing", "m.vae")));
            CollectionAssert.AreEqual(before, File.ReadAllBytes(path));
            CollectionAssert.AreEquivalent(new[] { "model.vae" }, Directory.GetFiles(folder).Select(Path.GetFileName).ToArray());
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [TestMethod]
    public void LoadingAMissingFileNamesThePath()
    {
        string path = TempPath();
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => VaeModel.Load(path));
        StringAssert.Contains(e.Message, path);
    }

    private static string LoadError(byte[] bytes)
    {
        string path = TempPath();
        File.WriteAllBytes(path, bytes);
        try { return Assert.ThrowsExactly<InvalidDataException>(() => VaeModel.Load(path)).Message; }
        finally { File.Delete(path); }
    }
}
