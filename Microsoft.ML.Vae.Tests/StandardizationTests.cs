using Microsoft.ML.Vae.Anomaly;

namespace Microsoft.ML.Vae.Tests;

[TestClass]
public sealed class StandardizationTests
{
    [TestMethod]
    public void FitTakesTheMeanAndTheSampleStandardDeviation()
    {
        // Mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5 over n − 1 = 3.
        var fitted = Standardization.Fit([1, 2, 3, 4]);
        Assert.AreEqual(2.5, fitted.Mean, 1e-15);
        Assert.AreEqual(Math.Sqrt(5.0 / 3), fitted.Deviation, 1e-15);
        Assert.AreEqual((4 - 2.5) / Math.Sqrt(5.0 / 3), fitted.Apply(4), 1e-15);
    }

    [TestMethod]
    public void AConstantScoreKeepsAUnitDeviation()
    {
        var constant = Standardization.Fit([7, 7, 7]);
        Assert.AreEqual(7, constant.Mean);
        Assert.AreEqual(1, constant.Deviation);
        var single = Standardization.Fit([3]);
        Assert.AreEqual(new Standardization(3, 1), single);
        // A tiny but real spread is kept: only a spread under 1e-12 counts as constant.
        Assert.AreEqual(Math.Sqrt(2e-12), Standardization.Fit([0, 2e-6]).Deviation, 1e-18);
    }

    [TestMethod]
    public void ReadRejectsWhatFitCannotProduce()
    {
        foreach (var (mean, deviation) in new[] { (0.0, 0.0), (0.0, -1.0), (0.0, double.NaN), (0.0, double.PositiveInfinity), (double.NaN, 1.0), (double.NegativeInfinity, 1.0) })
        {
            var e = Assert.ThrowsExactly<InvalidDataException>(() => Standardization.Read(Written(mean, deviation)), $"mean {mean}, deviation {deviation}");
            StringAssert.Contains(e.Message, "standardisation");
        }
        Assert.AreEqual(new Standardization(-2.5, 0.25), Standardization.Read(Written(-2.5, 0.25)));
    }

    private static BinaryReader Written(double mean, double deviation)
    {
        var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) new Standardization(mean, deviation).Write(writer);
        stream.Position = 0;
        return new BinaryReader(stream);
    }
}
