using Microsoft.ML.Data;

namespace MLNetPipeline;

/// <summary>One reading of six sensors.</summary>
public sealed class ModelInput
{
    public const int SensorCount = 6;

    [VectorType(SensorCount)]
    [ColumnName("Sensors")]
    public float[] Sensors { get; set; } = [];
}
