namespace Microsoft.ML.Vae.Tests;

/// <summary>Every kind of bad input gets an exception that names the problem, the row/column/option and the remedy.</summary>
[TestClass]
public sealed class InputValidationTests
{
    private static readonly VaeModel Model = new VaeTrainer(TestData.SmallOptions(),
        new VaeTrainerOptions { SampleCount = 1, Epochs = 1, BatchSize = 8, Threads = 1 }).Fit(TestData.Clusters(16, 7, seed: 1));

    private static VaeTrainer Trainer(DecoderKind decoder = DecoderKind.Bernoulli) =>
        new(TestData.SmallOptions(decoder), new VaeTrainerOptions { Epochs = 1, BatchSize = 4 });

    [TestMethod]
    public void NaNAndInfinityNameRowAndColumn()
    {
        var data = TestData.Clusters(6, 7, seed: 2);
        data.Values[3 * 7 + 5] = float.NaN;
        var e = Assert.ThrowsExactly<ArgumentException>(() => Trainer().Fit(data));
        StringAssert.Contains(e.Message, "Row 3, column 5 is NaN");
        data.Values[3 * 7 + 5] = float.PositiveInfinity;
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Model.LogLikelihood(data, 10)).Message, "Row 3, column 5");
    }

    [TestMethod]
    public void BernoulliValuesOutsideUnitIntervalAreRejected()
    {
        var data = TestData.Clusters(6, 7, seed: 2);
        data.Values[2 * 7 + 1] = 1.5f;
        var e = Assert.ThrowsExactly<ArgumentException>(() => Trainer().Fit(data));
        StringAssert.Contains(e.Message, "Row 2, column 1 is 1.5, outside [0, 1]");
        StringAssert.Contains(e.Message, "DecoderKind.Gaussian");
        Trainer(DecoderKind.Gaussian).Fit(data); // the Gaussian decoder accepts any finite value
    }

    [TestMethod]
    public void WrongRowLengthsAndEmptyDataAreRejected()
    {
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => FeatureMatrix.FromRows([new float[7], new float[6]])).Message, "Row 1 has 6 values but row 0 has 7");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => FeatureMatrix.FromRows([])).Message, "No rows");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Trainer().Fit(new FeatureMatrix([], 0, 7))).Message, "no rows");
        var wrongWidth = TestData.Clusters(3, 8, seed: 1);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Model.Embed(wrongWidth)).Message, "exactly 7 features");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => Model.LogLikelihood(wrongWidth, 5)).Message, "exactly 7 features");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Model.LogLikelihood(TestData.Clusters(2, 7, 1), 0));
    }

    public static IEnumerable<object[]> InvalidTrainerOptions() =>
    [
        [(Action<VaeTrainerOptions>)(o => o.SampleCount = 0), "SampleCount"],
        [(Action<VaeTrainerOptions>)(o => o.LearningRate = 0), "LearningRate"],
        [(Action<VaeTrainerOptions>)(o => o.LearningRate = float.NaN), "LearningRate"],
        [(Action<VaeTrainerOptions>)(o => o.Epochs = 0), "Epochs"],
        [(Action<VaeTrainerOptions>)(o => o.BatchSize = 0), "BatchSize"],
        [(Action<VaeTrainerOptions>)(o => o.Beta1 = 1), "Beta1"],
        [(Action<VaeTrainerOptions>)(o => o.Beta2 = -0.1f), "Beta2"],
        [(Action<VaeTrainerOptions>)(o => o.Epsilon = 0), "Epsilon"],
        [(Action<VaeTrainerOptions>)(o => o.ValidationFraction = 1), "ValidationFraction"],
        [(Action<VaeTrainerOptions>)(o => o.Threads = -1), "Threads"],
        [(Action<VaeTrainerOptions>)(o => o.EarlyStoppingPatience = 0), "EarlyStoppingPatience"],
        [(Action<VaeTrainerOptions>)(o => o.BinarizationThreshold = 2), "BinarizationThreshold"],
        [(Action<VaeTrainerOptions>)(o => { o.AnalyticKl = true; o.SampleCount = 5; }), "AnalyticKl"],
    ];

    [TestMethod]
    [DynamicData(nameof(InvalidTrainerOptions))]
    public void InvalidTrainerOptionsNameTheOption(Action<VaeTrainerOptions> change, string option)
    {
        var options = new VaeTrainerOptions();
        change(options);
        var e = Assert.ThrowsExactly<ArgumentException>(() => new VaeTrainer(new VaeModelOptions(), options));
        Assert.AreEqual(option, e.ParamName);
        StringAssert.StartsWith(e.Message, option);
    }

    public static IEnumerable<object[]> InvalidModelOptions() =>
    [
        [(Action<VaeModelOptions>)(o => o.HiddenSizes = []), "HiddenSizes"],
        [(Action<VaeModelOptions>)(o => o.HiddenSizes = [200, 0]), "HiddenSizes"],
        [(Action<VaeModelOptions>)(o => o.DecoderHiddenSizes = []), "DecoderHiddenSizes"],
        [(Action<VaeModelOptions>)(o => o.LatentSize = 0), "LatentSize"],
        [(Action<VaeModelOptions>)(o => o.DecoderVariance = 0), "DecoderVariance"],
        [(Action<VaeModelOptions>)(o => o.LearnDecoderVariance = true), "LearnDecoderVariance"],
        [(Action<VaeModelOptions>)(o => o.Activation = (Activation)42), "Activation"],
    ];

    [TestMethod]
    [DynamicData(nameof(InvalidModelOptions))]
    public void InvalidModelOptionsNameTheOption(Action<VaeModelOptions> change, string option)
    {
        var options = new VaeModelOptions();
        change(options);
        var e = Assert.ThrowsExactly<ArgumentException>(() => new VaeTrainer(options, new VaeTrainerOptions()));
        Assert.AreEqual(option, e.ParamName);
    }

    [TestMethod]
    public void BinarizationWithGaussianDecoderIsRejected()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => new VaeTrainer(TestData.SmallOptions(DecoderKind.Gaussian), new VaeTrainerOptions { Binarization = Binarization.Dynamic }));
        StringAssert.Contains(e.Message, "Bernoulli");
    }
}
