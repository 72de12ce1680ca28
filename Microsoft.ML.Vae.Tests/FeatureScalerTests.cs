using System.Text;
using Microsoft.ML.Vae.Anomaly;

namespace Microsoft.ML.Vae.Tests;

/// <summary>The detector's feature scaling against its definition, and through a save and load.</summary>
[TestClass]
public sealed class FeatureScalerTests
{
    // Column 0: 1, 3, 5, 7 (min 1, range 6, mean 4, population deviation √5); column 1 constant; row 4 is left out of the fit.
    private static readonly FeatureMatrix Data = new([1, 2, 3, 2, 5, 2, 7, 2, 100, 9], 5, 2);
    private static readonly int[] FitRows = [0, 1, 2, 3];

    [TestMethod]
    public void MinMaxMapsTheFittedRangeOntoTheUnitInterval()
    {
        var scaler = FeatureScaler.Fit(FeatureScaling.MinMax, Data, FitRows, clipToUnitRange: false);
        CollectionAssert.AreEqual(new[] { 1f, 2f }, scaler.Offset);
        Assert.AreEqual(1 / 6f, scaler.Scale[0], 1e-7f);
        Assert.AreEqual(1f, scaler.Scale[1], "a constant feature keeps scale 1");
        var scaled = scaler.Apply(Data);
        CollectionAssert.AreEqual(new[] { 0f, 0f, 1 / 3f, 0f, 2 / 3f, 0f, 1f, 0f, 99 / 6f, 7f }, scaled.Values, new ToleranceComparer(1e-6f));
    }

    [TestMethod]
    public void StandardizeSubtractsTheMeanAndDividesByThePopulationDeviation()
    {
        var scaler = FeatureScaler.Fit(FeatureScaling.Standardize, Data, FitRows, clipToUnitRange: false);
        Assert.AreEqual(4f, scaler.Offset[0], 1e-6f);
        Assert.AreEqual(1 / MathF.Sqrt(5), scaler.Scale[0], 1e-6f);
        Assert.AreEqual(1f, scaler.Scale[1], "a constant feature keeps scale 1");
        var scaled = scaler.Apply(Data);
        Assert.AreEqual(-3 / MathF.Sqrt(5), scaled.Values[0], 1e-6f);
        Assert.AreEqual(3 / MathF.Sqrt(5), scaled.Values[6], 1e-6f);
    }

    [TestMethod]
    public void TheClipFlagAndTheValuesSurviveASaveAndLoad()
    {
        var scaler = FeatureScaler.Fit(FeatureScaling.MinMax, Data, FitRows, clipToUnitRange: true);
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true)) scaler.Write(writer);
        stream.Position = 0;
        var loaded = FeatureScaler.Read(new BinaryReader(stream));
        Assert.IsTrue(loaded.ClipToUnitRange);
        Assert.AreEqual(scaler.Kind, loaded.Kind);
        CollectionAssert.AreEqual(scaler.Offset, loaded.Offset);
        CollectionAssert.AreEqual(scaler.Scale, loaded.Scale);
        // Row 4 lies outside the fitted range: clipped to 1 in column 0; column 1 (9 − 2) clipped to 1 too.
        CollectionAssert.AreEqual(new[] { 1f, 1f }, loaded.Apply(Data).Values[8..]);
    }

    [TestMethod]
    public void DamagedScalingsAreRejected()
    {
        string Error(int kind, int columns, int valuesWritten)
        {
            using var stream = new MemoryStream();
            using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
            {
                writer.Write(kind);
                writer.Write(false);
                writer.Write(columns);
                for (int i = 0; i < valuesWritten; i++) writer.Write(1f);
            }
            stream.Position = 0;
            return Assert.ThrowsExactly<InvalidDataException>(() => FeatureScaler.Read(new BinaryReader(stream))).Message;
        }
        StringAssert.Contains(Error(99, 1, 2), "unknown feature scaling (99)");
        StringAssert.Contains(Error((int)FeatureScaling.MinMax, 0, 0), "lists 0 features");
        StringAssert.Contains(Error((int)FeatureScaling.MinMax, 3, 5), "3 scaled features but holds only 20 more bytes");
    }

    [TestMethod]
    public void TheThresholdIsTheUpperQuantileAndTheFractionMustLieStrictlyBetweenZeroAndOne()
    {
        float[] scores = [5, 1, 9, 3, 7, 2, 8, 4, 10, 6];
        Assert.AreEqual(8, ThresholdCalibration.UpperQuantile(scores, 0.2)); // two of ten above it
        Assert.AreEqual(10, ThresholdCalibration.UpperQuantile(scores, 0.05)); // ⌊0.5⌋ = none above it
        foreach (double fraction in new[] { 0, 1, -0.1, 1.5, double.NaN })
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ThresholdCalibration.UpperQuantile(scores, fraction), $"fraction {fraction}");
    }

    private sealed class ToleranceComparer(float tolerance) : System.Collections.IComparer
    {
        public int Compare(object? a, object? b) => Math.Abs((float)a! - (float)b!) <= tolerance ? 0 : 1;
    }
}
