namespace Microsoft.ML.Vae.Anomaly;

/// <summary>One point of a ROC curve: the rates reached when rows scoring at or above a threshold are flagged.</summary>
public readonly record struct RocPoint(double Threshold, double FalsePositiveRate, double TruePositiveRate);

/// <summary>
/// How well anomaly scores separate labelled normal and anomalous rows. AUROC and AUPRC use the scores only; the
/// confusion counts use the threshold the evaluation was given.
/// </summary>
public sealed class AnomalyMetrics
{
    internal AnomalyMetrics(double areaUnderRocCurve, double areaUnderPrecisionRecallCurve, double falsePositiveRateTarget,
        double detectionRateAtFalsePositiveRate, double threshold, long truePositives, long falsePositives, long trueNegatives,
        long falseNegatives, IReadOnlyList<RocPoint> rocCurve)
    {
        AreaUnderRocCurve = areaUnderRocCurve;
        AreaUnderPrecisionRecallCurve = areaUnderPrecisionRecallCurve;
        FalsePositiveRateTarget = falsePositiveRateTarget;
        DetectionRateAtFalsePositiveRate = detectionRateAtFalsePositiveRate;
        Threshold = threshold;
        TruePositives = truePositives;
        FalsePositives = falsePositives;
        TrueNegatives = trueNegatives;
        FalseNegatives = falseNegatives;
        RocCurve = rocCurve;
    }

    /// <summary>Probability that a random anomaly scores above a random normal row (ties count half).</summary>
    public double AreaUnderRocCurve { get; }

    /// <summary>Average precision: the precision at each anomaly's rank, averaged over the anomalies.</summary>
    public double AreaUnderPrecisionRecallCurve { get; }

    /// <summary>The false-positive rate at which <see cref="DetectionRateAtFalsePositiveRate"/> was read.</summary>
    public double FalsePositiveRateTarget { get; }

    /// <summary>The largest fraction of anomalies caught by any threshold whose false-positive rate is at most <see cref="FalsePositiveRateTarget"/>.</summary>
    public double DetectionRateAtFalsePositiveRate { get; }

    /// <summary>The threshold behind the confusion counts (a row is flagged when its score is above it).</summary>
    public double Threshold { get; }

    public long TruePositives { get; }

    public long FalsePositives { get; }

    public long TrueNegatives { get; }

    public long FalseNegatives { get; }

    /// <summary>Fraction of normal rows flagged at <see cref="Threshold"/>.</summary>
    public double FalsePositiveRate => Ratio(FalsePositives, FalsePositives + TrueNegatives);

    /// <summary>Fraction of anomalies flagged at <see cref="Threshold"/> (recall).</summary>
    public double DetectionRate => Ratio(TruePositives, TruePositives + FalseNegatives);

    /// <summary>Fraction of flagged rows that are anomalies at <see cref="Threshold"/>.</summary>
    public double Precision => Ratio(TruePositives, TruePositives + FalsePositives);

    /// <summary>The ROC curve from (0, 0) to (1, 1), one point per distinct score.</summary>
    public IReadOnlyList<RocPoint> RocCurve { get; }

    private static double Ratio(long part, long whole) => whole == 0 ? double.NaN : (double)part / whole;

    public override string ToString() =>
        $"AUROC {AreaUnderRocCurve:F4}, AUPRC {AreaUnderPrecisionRecallCurve:F4}, detection rate {DetectionRateAtFalsePositiveRate:P1} at FPR {FalsePositiveRateTarget:P1}; " +
        $"at threshold {Threshold:G5}: TP {TruePositives}, FP {FalsePositives}, TN {TrueNegatives}, FN {FalseNegatives}";
}
