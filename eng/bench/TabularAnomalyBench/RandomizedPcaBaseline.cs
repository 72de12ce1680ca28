using Microsoft.ML;
using Microsoft.ML.Data;

namespace Microsoft.ML.Vae.TabularAnomalyBench;

/// <summary>
/// ML.NET's own anomaly detector as an ML.NET user would set it up: the features in one vector column,
/// NormalizeMinMax, then RandomizedPca with the given rank; its Score column is the anomaly score.
/// </summary>
internal static class RandomizedPcaBaseline
{
    private sealed class Row
    {
        public float[] Features { get; set; } = [];
    }

    public static float[] Score(FeatureMatrix train, FeatureMatrix test, int rank, int seed)
    {
        var context = new MLContext(seed);
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, train.Columns);
        IDataView Load(FeatureMatrix data) =>
            context.Data.LoadFromEnumerable(Enumerable.Range(0, data.Rows).Select(r => new Row { Features = data.Row(r).ToArray() }), schema);

        var pipeline = context.Transforms.NormalizeMinMax(nameof(Row.Features))
            .Append(context.AnomalyDetection.Trainers.RandomizedPca(nameof(Row.Features), rank: rank, seed: seed));
        var model = pipeline.Fit(Load(train));
        return model.Transform(Load(test)).GetColumn<float>("Score").ToArray();
    }
}
