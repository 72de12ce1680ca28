using Microsoft.ML.Data;

namespace MLNetPipeline;

/// <summary>
/// What the model adds to a reading. ML.NET 5.0.1's ONNX scorer gives single values as vectors of one value, so both
/// are arrays of length 1.
/// </summary>
public sealed class ModelOutput
{
    /// <summary>Anomaly score (higher = more anomalous).</summary>
    [VectorType(1)]
    [ColumnName("Score")]
    public float[] Score { get; set; } = [];

    /// <summary>Whether the score is above the threshold calibrated on held-out training readings.</summary>
    [VectorType(1)]
    [ColumnName("PredictedLabel")]
    public bool[] PredictedLabel { get; set; } = [];
}
