using Microsoft.ML.Vae.Anomaly;
using Microsoft.ML.Vae.Mathematics;

namespace Microsoft.ML.Vae.Tests;

[TestClass]
public class AnomalyEvaluatorTests
{
    [TestMethod]
    public void AurocIsTheProbabilityThatAnAnomalyOutscoresANormalRowWithTiesCountingHalf()
    {
        var random = new RandomSource(5, 1);
        // Rounded scores make ties common, which the pairwise definition counts as one half.
        var scores = Enumerable.Range(0, 300).Select(_ => MathF.Round(random.NextFloat() * 20)).ToArray();
        var isAnomaly = scores.Select(s => random.NextFloat() < 0.2 + s / 40).ToArray();

        double wins = 0, pairs = 0;
        for (int a = 0; a < scores.Length; a++)
            for (int n = 0; n < scores.Length; n++)
            {
                if (!isAnomaly[a] || isAnomaly[n]) continue;
                pairs++;
                wins += scores[a] > scores[n] ? 1 : scores[a] == scores[n] ? 0.5 : 0;
            }

        var metrics = AnomalyEvaluator.Evaluate(scores, isAnomaly, threshold: 10);
        Assert.AreEqual(wins / pairs, metrics.AreaUnderRocCurve, 1e-9);
    }

    [TestMethod]
    public void AveragePrecisionAveragesThePrecisionAtEachAnomalysRank()
    {
        var random = new RandomSource(6, 1);
        var scores = Enumerable.Range(0, 200).Select(_ => random.NextFloat()).ToArray(); // distinct: no ties
        var isAnomaly = scores.Select(s => random.NextFloat() < s * 0.6).ToArray();
        var order = Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ToArray();
        double sum = 0;
        int found = 0;
        for (int rank = 0; rank < order.Length; rank++)
        {
            if (!isAnomaly[order[rank]]) continue;
            found++;
            sum += (double)found / (rank + 1);
        }

        var metrics = AnomalyEvaluator.Evaluate(scores, isAnomaly, threshold: 0.5);
        Assert.AreEqual(sum / found, metrics.AreaUnderPrecisionRecallCurve, 1e-9);
    }

    [TestMethod]
    public void ConfusionCountsAndDetectionRateFollowTheThresholdAndTheFalsePositiveBudget()
    {
        // Normal rows score 0..99, anomalies 50.5..149.5: 5% false positives allow flagging the normal rows 95..99,
        // which catches the anomalies from 94.5 up, 56 of 100.
        var scores = Enumerable.Range(0, 100).Select(i => (float)i).Concat(Enumerable.Range(50, 100).Select(i => (float)i + 0.5f)).ToArray();
        var isAnomaly = Enumerable.Repeat(false, 100).Concat(Enumerable.Repeat(true, 100)).ToArray();

        var metrics = AnomalyEvaluator.Evaluate(scores, isAnomaly, threshold: 89.9, falsePositiveRate: 0.05);

        Assert.AreEqual(10, metrics.FalsePositives);
        Assert.AreEqual(90, metrics.TrueNegatives);
        Assert.AreEqual(60, metrics.TruePositives); // 90.5 .. 149.5
        Assert.AreEqual(40, metrics.FalseNegatives);
        Assert.AreEqual(0.56, metrics.DetectionRateAtFalsePositiveRate, 1e-9);
        Assert.AreEqual(0.1, metrics.FalsePositiveRate, 1e-12);
        Assert.AreEqual(0.6, metrics.DetectionRate, 1e-12);  // 60 / (60 + 40)
        Assert.AreEqual(60.0 / 70, metrics.Precision, 1e-12); // 60 / (60 + 10)
        Assert.AreEqual(new RocPoint(double.PositiveInfinity, 0, 0), metrics.RocCurve[0]);
        Assert.AreEqual(1.0, metrics.RocCurve[^1].FalsePositiveRate);
        Assert.AreEqual(1.0, metrics.RocCurve[^1].TruePositiveRate);
    }

    [TestMethod]
    public void PerfectlySeparatedScoresGiveOne()
    {
        var metrics = AnomalyEvaluator.Evaluate([1f, 2f, 3f, 10f, 11f], [false, false, false, true, true], threshold: 5, falsePositiveRate: 0);
        Assert.AreEqual(1.0, metrics.AreaUnderRocCurve);
        Assert.AreEqual(1.0, metrics.AreaUnderPrecisionRecallCurve);
        Assert.AreEqual(1.0, metrics.DetectionRateAtFalsePositiveRate);
        Assert.AreEqual(1.0, metrics.Precision);
    }

    [TestMethod]
    public void PrecisionWithNothingFlaggedIsNaN()
    {
        // A threshold above every score flags nothing: no precision exists, and no anomaly is detected.
        var metrics = AnomalyEvaluator.Evaluate([1f, 2f, 3f], [false, false, true], threshold: 10);
        Assert.AreEqual(0, metrics.TruePositives + metrics.FalsePositives);
        Assert.IsTrue(double.IsNaN(metrics.Precision), $"precision {metrics.Precision}");
        Assert.AreEqual(0.0, metrics.DetectionRate);
        Assert.AreEqual(0.0, metrics.FalsePositiveRate);
    }

    [TestMethod]
    public void BadInputIsRejectedWithTheReason()
    {
        var lengths = Assert.ThrowsExactly<ArgumentException>(() => AnomalyEvaluator.Evaluate([1f, 2f], [true], 0));
        StringAssert.Contains(lengths.Message, "2 scores but 1 labels");
        var oneClass = Assert.ThrowsExactly<ArgumentException>(() => AnomalyEvaluator.Evaluate([1f, 2f], [true, true], 0));
        StringAssert.Contains(oneClass.Message, "at least one of each");
        var nan = Assert.ThrowsExactly<ArgumentException>(() => AnomalyEvaluator.Evaluate([1f, float.NaN], [true, false], 0));
        StringAssert.Contains(nan.Message, "Score 1 is NaN");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => AnomalyEvaluator.Evaluate([1f, 2f], [true, false], 0, falsePositiveRate: 1.5));
    }

    [TestMethod]
    public void TheCalibratedThresholdFlagsAtMostTheRequestedFraction()
    {
        var random = new RandomSource(7, 1);
        foreach (int n in new[] { 10, 99, 100, 1001 })
            foreach (double fraction in new[] { 0.01, 0.05, 0.3 })
            {
                var scores = Enumerable.Range(0, n).Select(_ => MathF.Round(random.NextFloat() * 50)).ToArray();
                double threshold = ThresholdCalibration.UpperQuantile(scores, fraction);
                int flagged = scores.Count(s => s > threshold);
                Assert.IsTrue(flagged <= Math.Floor(fraction * n), $"n {n}, fraction {fraction}: {flagged} flagged");
                Assert.IsTrue(scores.Contains((float)threshold), "the threshold is one of the held-out scores");
                // Any lower held-out score would flag more than allowed (the threshold is the tightest one).
                var lower = scores.Where(s => s < threshold).DefaultIfEmpty(float.NegativeInfinity).Max();
                if (float.IsFinite(lower)) Assert.IsTrue(scores.Count(s => s > lower) > Math.Floor(fraction * n));
            }
    }
}
