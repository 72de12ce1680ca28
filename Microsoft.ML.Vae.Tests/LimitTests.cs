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

    [TestMethod]
    public void TheEstimateFollowsItsStatedFormulaAndNamesTheLargestTerm()
    {
        // README: 4 bytes × (2 × (decoder widths + features) + 6 × latent + 2 × pseudo-inputs) per sample row, the
        // encoder's 4 × 2 × (encoder widths + features + 2 × latent) per data row and pseudo-input, 24 bytes per parameter.
        var layout = new ParameterLayout(new VaeModelOptions { HiddenSizes = [30, 20], LatentSize = 5 }, 10);
        Assert.AreEqual(4.0 * (2 * (20 + 30 + 10) + 6 * 5 + 2 * 1), TrainingMemory.BytesPerSampleRow(layout));
        Assert.AreEqual(7 * 3 * TrainingMemory.BytesPerSampleRow(layout) + (7 + 1) * 8.0 * (30 + 20 + 10 + 2 * 5) + 24.0 * layout.Count,
            TrainingMemory.Estimate(layout, 7, 3));
        var vamp = new ParameterLayout(new VaeModelOptions { HiddenSizes = [30, 20], LatentSize = 5, Prior = PriorKind.Vamp, PseudoInputCount = 200 }, 10);
        Assert.AreEqual(4.0 * (2 * (20 + 30 + 10) + 6 * 5 + 2 * 200), TrainingMemory.BytesPerSampleRow(vamp));
        Assert.AreEqual(7 * 3 * TrainingMemory.BytesPerSampleRow(vamp) + (7 + 200) * 8.0 * (30 + 20 + 10 + 2 * 5) + 24.0 * vamp.Count,
            TrainingMemory.Estimate(vamp, 7, 3));

        string Refused(ParameterLayout l, int batch, int k, long available, string option, string size)
        {
            var e = Assert.ThrowsExactly<ArgumentException>(() => TrainingMemory.Check(l, batch, k, available));
            Assert.AreEqual(option, e.ParamName);
            StringAssert.Contains(e.Message, size);
            return e.Message;
        }
        double estimate = TrainingMemory.Estimate(layout, 1000, 10);
        Refused(layout, 1000, 10, 1000, nameof(VaeTrainerOptions.BatchSize), $"{estimate / 1e6:G3} MB");
        Refused(layout, 10, 1000, 1000, nameof(VaeTrainerOptions.SampleCount), $"{TrainingMemory.Estimate(layout, 10, 1000) / 1e6:G3} MB");
        Refused(layout, 1, 1, 10, nameof(VaeModelOptions.HiddenSizes), $"{TrainingMemory.Estimate(layout, 1, 1) / 1e3:G3} KB");
        Refused(vamp, 100, 100, 1000, nameof(VaeModelOptions.PseudoInputCount), $"{TrainingMemory.Estimate(vamp, 100, 100) / 1e6:G3} MB");
        Refused(layout, 1000, 10000, 1L << 20, nameof(VaeTrainerOptions.SampleCount), $"{TrainingMemory.Estimate(layout, 1000, 10000) / 1e9:G3} GB");
        // At exactly 90% of what is available the run is allowed; a byte less and it is not.
        long enough = (long)Math.Ceiling(estimate / 0.9);
        TrainingMemory.Check(layout, 1000, 10, enough);
        Assert.ThrowsExactly<ArgumentException>(() => TrainingMemory.Check(layout, 1000, 10, (long)(estimate / 0.9) - 1));
        // One array holds at most Array.MaxLength values, whatever the memory.
        int k = (int)(Array.MaxLength / (100.0 * 30)) + 1;
        var e = Assert.ThrowsExactly<ArgumentException>(() => TrainingMemory.Check(layout, 100, k, long.MaxValue));
        StringAssert.Contains(e.Message, "one array holds");
        TrainingMemory.Check(layout, 100, k - 1, long.MaxValue);
    }
}
