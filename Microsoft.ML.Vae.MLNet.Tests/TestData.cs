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

    [VectorType(1)]
    public float[] LogLikelihood { get; set; } = [];
}

/// <summary>What a prediction engine returns for the anomaly detector.</summary>
public sealed class AnomalyPrediction
{
    [VectorType(1)]
    public float[] Score { get; set; } = [];

    [VectorType(1)]
    public bool[] PredictedLabel { get; set; } = [];
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

    /// <summary>A small, fast network (the tabular defaults otherwise) and training.</summary>
    public static VaeModelOptions SmallModel()
    {
        var model = VaeComponentOptions.TabularModel();
        model.HiddenSizes = [16];
        model.LatentSize = 2;
        return model;
    }

    public static VaeTrainerOptions SmallTrainer(int epochs) => new() { Epochs = epochs, BatchSize = 20, Threads = 1 };

    /// <summary>VaeEmbed with a small network; Seed fixed unless given null.</summary>
    public static VaeEmbeddingEstimator.Options SmallEmbedding(int? seed = 7, int epochs = 5) => new()
    {
        Model = SmallModel(),
        Trainer = SmallTrainer(epochs),
        Seed = seed,
        LogLikelihoodSampleCount = 20,
    };

    /// <summary>Iwae with a small network and the tabular detector defaults otherwise; Seed fixed.</summary>
    public static IwaeAnomalyDetectionTrainer.Options SmallDetector(int epochs = 5)
    {
        var options = new IwaeAnomalyDetectionTrainer.Options { Seed = 7 };
        options.Detector.Model = SmallModel();
        options.Detector.Trainer = SmallTrainer(epochs);
        options.Detector.EvaluationSampleCount = 20;
        return options;
    }

    /// <summary>Within <paramref name="relative"/> of the expected magnitude (at least 1).</summary>
    public static void AssertClose(float expected, float actual, string what, double relative = 1e-4) =>
        Assert.IsTrue(Math.Abs(expected - actual) <= relative * Math.Max(1, Math.Abs(expected)), $"{what}: expected {expected}, got {actual}");

    public static void AssertClose(float[] expected, float[] actual, string what, double relative = 1e-4)
    {
        Assert.HasCount(expected.Length, actual, what);
        for (int i = 0; i < expected.Length; i++)
            AssertClose(expected[i], actual[i], $"{what}[{i}]", relative);
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

    /// <summary>A one-value vector column (how the components give Score, PredictedLabel and LogLikelihood) as its values.</summary>
    public static List<T> Single<T>(IDataView data, string name) => data.GetColumn<T[]>(name).Select(v => v.Single()).ToList();

    public static List<float> Single(IDataView data, string name) => Single<float>(data, name);
}
