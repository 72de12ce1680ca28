using Microsoft.ML.Data;
using Microsoft.ML.Vae.Anomaly;
using Microsoft.ML.Vae.MLNet.Infrastructure;
using Microsoft.ML.Vae.Onnx;

namespace Microsoft.ML.Vae.MLNet;

/// <summary>
/// Applies a trained <see cref="VaeAnomalyDetector"/>: adds Score (the detector's score, higher = more anomalous) and
/// PredictedLabel (Score &gt; <see cref="Threshold"/>). A row that cannot be scored (NaN, infinity) gets a NaN Score
/// and PredictedLabel false. Scores through ML.NET's OnnxTransformer over the detector's ONNX export; save the
/// pipeline with <c>context.Model.Save</c>.
/// </summary>
public sealed class IwaeAnomalyDetectionTransformer : VaeTransformerBase
{
    private readonly ComponentContext _context;

    internal IwaeAnomalyDetectionTransformer(ComponentContext context, VaeAnomalyDetector detector, string featureColumnName)
        : base(CreateScorer(context, detector, featureColumnName), featureColumnName, detector.InputSize)
    {
        _context = context;
        Detector = detector;
    }

    /// <summary>The trained detector: its models, score kind, scaling, history (owned by this transformer: disposed with it).</summary>
    public VaeAnomalyDetector Detector { get; }

    /// <summary>Rows whose Score exceeds this are predicted anomalous.</summary>
    public double Threshold => Detector.Threshold;

    /// <summary>
    /// The same detector with another threshold: Score is unchanged, PredictedLabel becomes Score &gt;
    /// <paramref name="threshold"/>. No retraining. This is what ML.NET's ChangeModelThreshold does for its own
    /// anomaly trainers; that method accepts only ML.NET's AnomalyPredictionTransformer, whose constructor is internal.
    /// </summary>
    public IwaeAnomalyDetectionTransformer ChangeThreshold(double threshold)
    {
        if (!double.IsFinite(threshold))
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be a finite number.");
        var copy = Copy(Detector);
        try
        {
            copy.Threshold = threshold;
            return new IwaeAnomalyDetectionTransformer(_context, copy, InputColumnName);
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <c>mlContext.AnomalyDetection.Evaluate</c> over this transformer's output (<paramref name="scored"/>, with a float
    /// label: 1 = anomaly). ML.NET 5.0.1 gives Score and PredictedLabel as vectors of one value, which Evaluate does not
    /// take directly; this reads them as scalars and evaluates with ML.NET's own evaluator.
    /// </summary>
    public AnomalyDetectionMetrics Evaluate(IDataView scored, string labelColumnName = "Label", int falsePositiveCount = 10) =>
        ScalarScores.Evaluate(_context, scored, labelColumnName, falsePositiveCount);

    private protected override void DisposeTrained() => Detector.Dispose();

    /// <summary>A detector of its own for the new transformer, so disposing either transformer leaves the other working.</summary>
    private static VaeAnomalyDetector Copy(VaeAnomalyDetector detector)
    {
        using var buffer = new MemoryStream();
        detector.Save(buffer);
        buffer.Position = 0;
        return VaeAnomalyDetector.Load(buffer);
    }

    private static ITransformer CreateScorer(ComponentContext context, VaeAnomalyDetector detector, string featureColumnName)
    {
        var names = new OnnxColumnNames(featureColumnName);
        var options = new OnnxExportOptions
        {
            SingleRow = true,
            InputName = featureColumnName,
            ScoreName = names.Output(IwaeAnomalyDetectionTrainer.ScoreColumnName),
            PredictedLabelName = names.Output(IwaeAnomalyDetectionTrainer.PredictedLabelColumnName),
            ThresholdName = OnnxColumnNames.Unused("Threshold"),
        };
        return OnnxScorer.Create(context, names, new VectorDataViewType(NumberDataViewType.Single, detector.InputSize),
            stream => detector.ExportOnnx(stream, options));
    }
}
