namespace Microsoft.ML.Vae.Anomaly;

/// <summary>Scores anomaly scores against labels: AUROC, AUPRC, detection rate at a false-positive rate and confusion counts.</summary>
public static class AnomalyEvaluator
{
    /// <summary>
    /// Evaluates <paramref name="scores"/> (higher = more anomalous) against <paramref name="isAnomaly"/>.
    /// Rows with a score above <paramref name="threshold"/> count as flagged in the confusion counts.
    /// </summary>
    public static AnomalyMetrics Evaluate(IReadOnlyList<float> scores, IReadOnlyList<bool> isAnomaly, double threshold, double falsePositiveRate = 0.01)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(isAnomaly);
        if (scores.Count != isAnomaly.Count)
            throw new ArgumentException($"{scores.Count} scores but {isAnomaly.Count} labels: give one label per scored row.", nameof(isAnomaly));
        if (!(falsePositiveRate >= 0 && falsePositiveRate <= 1))
            throw new ArgumentOutOfRangeException(nameof(falsePositiveRate), falsePositiveRate, "The false-positive rate must lie in [0, 1].");
        if (double.IsNaN(threshold))
            throw new ArgumentException("The threshold is NaN; pass the detector's Threshold or a number.", nameof(threshold));
        long anomalies = 0;
        for (int i = 0; i < scores.Count; i++)
        {
            if (float.IsNaN(scores[i]))
                throw new ArgumentException($"Score {i} is NaN: every row needs a score.", nameof(scores));
            if (isAnomaly[i]) anomalies++;
        }
        long normals = scores.Count - anomalies;
        if (anomalies == 0 || normals == 0)
            throw new ArgumentException($"The labels hold {anomalies} anomalies and {normals} normal rows: evaluation needs at least one of each.", nameof(isAnomaly));

        // Highest score first; a group of tied scores moves the curve in one step, which makes AUROC count ties half.
        var order = Enumerable.Range(0, scores.Count).ToArray();
        Array.Sort(order, (a, b) => scores[b].CompareTo(scores[a]));
        var roc = new List<RocPoint> { new(double.PositiveInfinity, 0, 0) };
        double area = 0, averagePrecision = 0;
        long tp = 0, fp = 0;
        for (int start = 0; start < order.Length;)
        {
            float value = scores[order[start]];
            long groupTp = 0, groupFp = 0;
            int end = start;
            for (; end < order.Length && scores[order[end]] == value; end++)
                if (isAnomaly[order[end]]) groupTp++; else groupFp++;
            var previous = roc[^1];
            tp += groupTp;
            fp += groupFp;
            var point = new RocPoint(value, (double)fp / normals, (double)tp / anomalies);
            area += (point.FalsePositiveRate - previous.FalsePositiveRate) * (point.TruePositiveRate + previous.TruePositiveRate) / 2;
            averagePrecision += (point.TruePositiveRate - previous.TruePositiveRate) * tp / (tp + fp);
            roc.Add(point);
            start = end;
        }

        double detection = 0;
        foreach (var point in roc)
            if (point.FalsePositiveRate <= falsePositiveRate) detection = Math.Max(detection, point.TruePositiveRate);

        long truePositives = 0, falsePositives = 0;
        for (int i = 0; i < scores.Count; i++)
        {
            if (scores[i] <= threshold) continue;
            if (isAnomaly[i]) truePositives++; else falsePositives++;
        }
        return new AnomalyMetrics(area, averagePrecision, falsePositiveRate, detection, threshold,
            truePositives, falsePositives, normals - falsePositives, anomalies - truePositives, roc);
    }
}
