using Microsoft.ML.Vae.Model;

namespace Microsoft.ML.Vae.Tests;

/// <summary>Sizes too large for an int or for the machine fail before anything is allocated, naming the option.</summary>
[TestClass]
public sealed class LimitTests
{
    private static readonly FeatureMatrix Rows = TestData.Clusters(20, 7, seed: 1);

    private static string ParamNameOfFit(VaeModelOptions model, VaeTrainerOptions trainer) =>
        Assert.ThrowsExactly<ArgumentException>(() => new VaeTrainer(model, trainer).Fit(Rows)).ParamName!;

    [TestMethod]
    public void HugeIntegersNameTheirOption()
    {
        Assert.AreEqual(nameof(VaeTrainerOptions.SampleCount), ParamNameOfFit(TestData.SmallOptions(), new VaeTrainerOptions { SampleCount = int.MaxValue }));
        var latent = TestData.SmallOptions();
        latent.LatentSize = int.MaxValue;
        Assert.AreEqual(nameof(VaeModelOptions.LatentSize), ParamNameOfFit(latent, new VaeTrainerOptions()));
        var hidden = TestData.SmallOptions();
        hidden.HiddenSizes = [int.MaxValue];
        Assert.AreEqual(nameof(VaeModelOptions.HiddenSizes), ParamNameOfFit(hidden, new VaeTrainerOptions()));
        var decoderHidden = TestData.SmallOptions();
        decoderHidden.DecoderHiddenSizes = [4, int.MaxValue];
        Assert.AreEqual(nameof(VaeModelOptions.DecoderHiddenSizes), ParamNameOfFit(decoderHidden, new VaeTrainerOptions()));
        var categorical = new VaeModelOptions { Latent = LatentKind.Categorical, LatentSize = 1 << 20, CategoryCount = 1 << 12 };
        Assert.AreEqual(nameof(VaeModelOptions.LatentSize), ParamNameOfFit(categorical, new VaeTrainerOptions { AnalyticKl = true, SampleCount = 1 }));
        Assert.AreEqual(nameof(VaeTrainerOptions.Threads),
            Assert.ThrowsExactly<ArgumentException>(() => new VaeTrainer(TestData.SmallOptions(), new VaeTrainerOptions { Threads = int.MaxValue })).ParamName);
        // A batch larger than the data is a batch of all rows, not an overflow.
        new VaeTrainer(TestData.SmallOptions(), new VaeTrainerOptions { BatchSize = int.MaxValue, Epochs = 1, Threads = 1 }).Fit(Rows).Dispose();
    }

    [TestMethod]
    public void TrainingTooLargeForMemoryNamesTheOptionAndTheEstimate()
    {
        // The probe's case: 784-200-200-50 needs about 10 KB per sample row, so K = 20000 at batch 100 needs about 20 GB.
        var layout = new ParameterLayout(new VaeModelOptions(), 784);
        double perSampleRow = TrainingMemory.BytesPerSampleRow(layout);
        Assert.IsTrue(perSampleRow is > 9e3 and < 11e3, $"{perSampleRow} bytes per sample row");
        const long sixteenGigabytes = 16L << 30;
        var e = Assert.ThrowsExactly<ArgumentException>(() => TrainingMemory.Check(layout, 100, 20000, sixteenGigabytes));
        Assert.AreEqual(nameof(VaeTrainerOptions.SampleCount), e.ParamName);
        StringAssert.Contains(e.Message, "GB");
        TrainingMemory.Check(layout, 100, 2000, sixteenGigabytes); // the probe's 2 GB run fits

        // A VampPrior with a million pseudo-inputs: its parameters alone are 784 million floats.
        var vamp = new ParameterLayout(new VaeModelOptions { Prior = PriorKind.Vamp, PseudoInputCount = 1_000_000 }, 784);
        Assert.AreEqual(nameof(VaeModelOptions.PseudoInputCount),
            Assert.ThrowsExactly<ArgumentException>(() => TrainingMemory.Check(vamp, 20, 5, sixteenGigabytes)).ParamName);
    }
}
