using System.Globalization;
using Microsoft.ML.Vae.Anomaly;

namespace Microsoft.ML.Vae.Reports;

/// <summary>The standard figures of a VAE report: training curve, ROC, score histograms, reconstructions, latent map.</summary>
public static class ReportFigures
{
    /// <summary>Training (and validation) bound per epoch, in nats per row.</summary>
    public static string TrainingCurve(IReadOnlyList<EpochSummary> history, string title = "Bound per epoch")
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count == 0) throw new ArgumentException("The training history is empty: train the model first.", nameof(history));
        var epochs = history.Select(h => (double)h.Epoch).ToArray();
        var series = new List<ChartSeries> { new("training", Charts.Palette[0], epochs, history.Select(h => h.TrainingBound).ToArray()) };
        var validated = history.Where(h => h.ValidationBound is not null).ToArray();
        if (validated.Length > 0)
            series.Add(new("validation", Charts.Palette[1], validated.Select(h => (double)h.Epoch).ToArray(), validated.Select(h => h.ValidationBound!.Value).ToArray()));
        return Charts.Line(title, "epoch", "bound (nats per row)", series);
    }

    /// <summary>The ROC curve of an evaluation, with its AUROC in the legend.</summary>
    public static string RocCurve(AnomalyMetrics metrics, string title = "ROC curve")
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var points = metrics.RocCurve;
        return Charts.Line(title, "false-positive rate", "detection rate (true-positive rate)",
            [new($"AUROC {metrics.AreaUnderRocCurve:F3}", Charts.AnomalyColor, points.Select(p => p.FalsePositiveRate).ToArray(), points.Select(p => p.TruePositiveRate).ToArray())],
            showDiagonal: true);
    }

    /// <summary>Histograms of the scores of normal and anomalous rows, with the threshold marked.</summary>
    public static string ScoreHistogram(IReadOnlyList<float> scores, IReadOnlyList<bool> isAnomaly, double threshold, string title = "Anomaly scores")
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(isAnomaly);
        if (scores.Count != isAnomaly.Count)
            throw new ArgumentException($"{scores.Count} scores but {isAnomaly.Count} labels: give one label per scored row.", nameof(isAnomaly));
        var normal = scores.Where((_, i) => !isAnomaly[i]).ToArray();
        var anomalous = scores.Where((_, i) => isAnomaly[i]).ToArray();
        // Clip the long right tail at the 99.5th percentile so the bulk of both groups stays visible.
        var sorted = scores.Where(float.IsFinite).OrderBy(s => s).ToArray();
        float cap = sorted.Length == 0 ? 0 : sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(0.995 * sorted.Length))];
        float[] Clip(float[] values) => values.Select(v => Math.Min(v, cap)).ToArray();
        return Charts.Histogram(title, "score (higher = more anomalous)",
            [("normal", Charts.NormalColor, Clip(normal)), ("anomalous", Charts.AnomalyColor, Clip(anomalous))], marker: Math.Min(threshold, cap));
    }

    /// <summary>Inputs and the model's reconstructions (decoder output at the posterior mean) as image rows.</summary>
    public static string Reconstructions(VaeModel model, FeatureMatrix inputs, int imageWidth, int imageHeight, string title = "Inputs and reconstructions")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        if (imageWidth * imageHeight != inputs.Columns)
            throw new ArgumentException($"Images of {imageWidth}×{imageHeight} need {imageWidth * imageHeight} features per row, the rows have {inputs.Columns}.", nameof(inputs));
        var reconstructions = model.Reconstruct(inputs);
        return Charts.ImageGrid(title, [("input", inputs.ToRows()), ("reconstruction", reconstructions.ToRows())], imageWidth, imageHeight);
    }

    /// <summary>
    /// The embeddings projected on their first two principal components, one colour per label (at most
    /// <paramref name="maxPoints"/> points, taken evenly through the rows).
    /// </summary>
    public static string LatentScatter(FeatureMatrix embeddings, IReadOnlyList<int> labels, IReadOnlyList<string> labelNames, int maxPoints = 3000,
        string title = "Latent space (first two principal components)")
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(labelNames);
        if (labels.Count != embeddings.Rows)
            throw new ArgumentException($"{embeddings.Rows} embeddings but {labels.Count} labels: give one label per row.", nameof(labels));
        for (int i = 0; i < labels.Count; i++)
            if (labels[i] < 0 || labels[i] >= labelNames.Count)
                throw new ArgumentException($"Label {labels[i]} of row {i} has no name: labels must lie in [0, {labelNames.Count}).", nameof(labels));
        var projection = embeddings.Columns >= 2
            ? PrincipalComponents.Fit(embeddings, 2).Transform(embeddings)
            : new FeatureMatrix(embeddings.Values.SelectMany(v => new[] { v, 0f }).ToArray(), embeddings.Rows, 2);
        int stride = Math.Max(1, (embeddings.Rows + maxPoints - 1) / maxPoints);
        var series = new List<ChartSeries>();
        for (int label = 0; label < labelNames.Count; label++)
        {
            var rows = Enumerable.Range(0, embeddings.Rows).Where(i => i % stride == 0 && labels[i] == label).ToArray();
            if (rows.Length == 0) continue;
            series.Add(new(labelNames[label], Charts.Palette[label % Charts.Palette.Count],
                rows.Select(i => (double)projection.Values[i * 2]).ToArray(), rows.Select(i => (double)projection.Values[i * 2 + 1]).ToArray()));
        }
        return Charts.Scatter(title, "component 1", "component 2", series);
    }

    /// <summary>The metrics of an evaluation as name/value rows for <see cref="HtmlReport.AddKeyValues"/>.</summary>
    public static IEnumerable<(string Name, string Value)> Describe(AnomalyMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var c = CultureInfo.InvariantCulture;
        yield return ("AUROC", metrics.AreaUnderRocCurve.ToString("F4", c));
        yield return ("AUPRC (average precision)", metrics.AreaUnderPrecisionRecallCurve.ToString("F4", c));
        yield return ($"Detection rate at {metrics.FalsePositiveRateTarget:P1} false positives", metrics.DetectionRateAtFalsePositiveRate.ToString("P1", c));
        yield return ("Threshold", metrics.Threshold.ToString("G6", c));
        yield return ("Confusion at the threshold", $"TP {metrics.TruePositives}, FP {metrics.FalsePositives}, TN {metrics.TrueNegatives}, FN {metrics.FalseNegatives}");
        yield return ("Detection rate / false-positive rate / precision at the threshold",
            $"{metrics.DetectionRate.ToString("P1", c)} / {metrics.FalsePositiveRate.ToString("P2", c)} / {metrics.Precision.ToString("P1", c)}");
    }
}
