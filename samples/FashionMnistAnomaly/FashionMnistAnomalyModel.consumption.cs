// Consumption: load the saved detector once and score single images, like ML.NET Model Builder's generated
// <Model>.consumption.cs.
using Microsoft.ML.Vae.Anomaly;

namespace FashionMnistAnomaly;

public partial class FashionMnistAnomalyModel
{
    /// <summary>One image: 784 grey values in [0, 1], row by row (28 × 28).</summary>
    public class ModelInput
    {
        public float[] Pixels { get; set; } = [];
    }

    /// <summary>The verdict: Score is the detector's anomaly score (by default the whitened latent nearest-neighbour distance), higher = more anomalous.</summary>
    public class ModelOutput
    {
        public float Score { get; set; }

        public bool PredictedLabel { get; set; }
    }

    /// <summary>Where <see cref="Train"/> saves the detector and <see cref="Predict"/> loads it from.</summary>
    public static string ModelPath { get; set; } = Path.GetFullPath(Path.Combine("out", "FashionMnistAnomaly", "FashionMnistAnomaly.vaead"));

    private static readonly Lazy<VaeAnomalyDetector> Detector = new(() => VaeAnomalyDetector.Load(ModelPath), isThreadSafe: true);

    /// <summary>Scores one image with the saved detector.</summary>
    public static ModelOutput Predict(ModelInput input)
    {
        var prediction = Detector.Value.Predict(input.Pixels);
        return new ModelOutput { Score = prediction.Score, PredictedLabel = prediction.PredictedLabel };
    }
}
