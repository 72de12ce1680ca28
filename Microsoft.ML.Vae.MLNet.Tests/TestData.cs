using Microsoft.ML.Data;
using Microsoft.ML.Vae.MLNet;

namespace Microsoft.ML.Vae.MLNet.Tests;

/// <summary>A row of 8 features in [0, 1] and a float label (1 = anomaly).</summary>
public sealed class FeatureRow
{
    [VectorType(TestData.Features)]
    public float[] Features { get; set; } = [];

    public float Label { get; set; }
}

/// <summary>The features as two 4-wide halves, to be concatenated by the pipeline.</summary>
public sealed class SplitRow
{
    [VectorType(4)]
    public float[] Left { get; set; } = [];

    [VectorType(4)]
    public float[] Right { get; set; } = [];
}

/// <summary>What a prediction engine returns for a VaeEmbed pipeline.</summary>
public sealed class EmbeddingPrediction
{
    public float[] Embedding { get; set; } = [];

    public float LogLikelihood { get; set; }
}

/// <summary>What a prediction engine returns for the anomaly detector.</summary>
public sealed class AnomalyPrediction
{
    public float Score { get; set; }

    public bool PredictedLabel { get; set; }
}

internal static class TestData
{
    public const int Features = 8;

    private static readonly float[][] Prototypes =
    [
        [0.9f, 0.9f, 0.9f, 0.9f, 0.1f, 0.1f, 0.1f, 0.1f],
        [0.1f, 0.1f, 0.1f, 0.1f, 0.9f, 0.9f, 0.9f, 0.9f],
    ];

    /// <summary>Normal rows: one of two prototypes plus small noise.</summary>
    public static FeatureRow[] Normal(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i => new FeatureRow
        {
            Features = Prototypes[i % 2].Select(v => Math.Clamp(v + (float)(random.NextDouble() - 0.5) * 0.1f, 0f, 1f)).ToArray(),
        }).ToArray();
    }

    /// <summary>Anomalies: alternating high and low features, which no prototype has; labelled 1.</summary>
    public static FeatureRow[] Anomalies(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => new FeatureRow
        {
            Features = Enumerable.Range(0, Features).Select(j => (j % 2 == 0 ? 0.85f : 0.15f) + (float)(random.NextDouble() - 0.5) * 0.1f).ToArray(),
            Label = 1,
        }).ToArray();
    }

    public static SplitRow[] Split(IEnumerable<FeatureRow> rows) =>
        rows.Select(r => new SplitRow { Left = r.Features[..4], Right = r.Features[4..] }).ToArray();

    public static FeatureMatrix Matrix(IEnumerable<FeatureRow> rows) => FeatureMatrix.FromRows(rows.Select(r => r.Features).ToArray());

    /// <summary>A small, fast network and training; Seed fixed unless given null.</summary>
    public static TOptions Small<TOptions>(TOptions options, int? seed = 7, int epochs = 5) where TOptions : VaeComponentOptions
    {
        options.Model = new VaeModelOptions { HiddenSizes = [16], LatentSize = 2 };
        options.Trainer = new VaeTrainerOptions { Epochs = epochs, BatchSize = 20, Threads = 1 };
        options.Seed = seed;
        options.LogLikelihoodSampleCount = 20;
        options.BatchSize = 16;
        return options;
    }

    /// <summary>The estimator's view of a data view's schema (ML.NET keeps SchemaShape.Create internal).</summary>
    public static SchemaShape Shape(DataViewSchema schema) => new(schema.Select(column => Infrastructure.MLNetInternals.CreateShapeColumn(column.Name,
        column.Type switch
        {
            VectorDataViewType { Size: > 0 } => SchemaShape.Column.VectorKind.Vector,
            VectorDataViewType => SchemaShape.Column.VectorKind.VariableVector,
            _ => SchemaShape.Column.VectorKind.Scalar,
        },
        column.Type is VectorDataViewType vector ? vector.ItemType : column.Type)));

    public static List<T> Column<T>(IDataView data, string name) => data.GetColumn<T>(name).ToList();
}
