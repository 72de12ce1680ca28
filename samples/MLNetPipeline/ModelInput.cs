using Microsoft.ML.Data;

namespace MLNetPipeline;

/// <summary>One Fashion-MNIST image: 28 × 28 grey values in [0, 1], and its class (0-9).</summary>
public sealed class ModelInput
{
    public const int PixelCount = 28 * 28;

    [VectorType(PixelCount)]
    [ColumnName("Pixels")]
    public float[] Pixels { get; set; } = [];

    [ColumnName("Label")]
    public float Label { get; set; }
}
