using Microsoft.ML.Data;

namespace Microsoft.ML.Vae.MLNet.Infrastructure;

/// <summary>
/// ML.NET's anomaly evaluation over the detector's output. Score and PredictedLabel come from ML.NET 5.0.1's
/// OnnxTransformer as one-value vectors, which <c>AnomalyDetection.Evaluate</c> does not take, so they are read as
/// scalars first (the evaluation reads every row anyway).
/// </summary>
internal static class ScalarScores
{
    public static AnomalyDetectionMetrics Evaluate(ComponentContext context, IDataView scored, string labelColumnName, int falsePositiveCount)
    {
        ArgumentNullException.ThrowIfNull(scored);
        if (scored.Schema.GetColumnOrNull(labelColumnName) is not { Type: var labelType } || labelType != NumberDataViewType.Single)
            throw new ArgumentException($"The label column '{labelColumnName}' must be a float column (1 = anomaly, 0 = normal), as ML.NET's anomaly evaluation needs.", nameof(labelColumnName));
        var labels = scored.GetColumn<float>(labelColumnName);
        var scores = scored.GetColumn<float[]>(IwaeAnomalyDetectionTrainer.ScoreColumnName);
        var predicted = scored.GetColumn<bool[]>(IwaeAnomalyDetectionTrainer.PredictedLabelColumnName);
        var rows = labels.Zip(scores, predicted).Select(r => new Row { Label = r.First, Score = r.Second[0], PredictedLabel = r.Third[0] }).ToList();
        return MLNetInternals.CreateCatalog<AnomalyDetectionCatalog>(context.Environment)
            .Evaluate(context.Data.LoadFromEnumerable(rows), falsePositiveCount: falsePositiveCount);
    }

    private sealed class Row
    {
        public float Label { get; set; }

        public float Score { get; set; }

        public bool PredictedLabel { get; set; }
    }
}
