using Microsoft.ML.Data;

namespace Microsoft.ML.Vae.MLNet.Infrastructure;

/// <summary>
/// Builds the ML.NET transformer that scores an exported graph: ML.NET's own OnnxTransformer over the ONNX bytes
/// (ApplyOnnxModel keeps them in the model zip), then ML.NET's CopyColumns/DropColumns for outputs that had to be
/// renamed. Everything in it is ML.NET's, so <c>mlContext.Model.Load</c> restores it without this library.
/// </summary>
internal static class OnnxScorer
{
    public static ITransformer Create(ComponentContext context, OnnxColumnNames names, VectorDataViewType inputType, Action<Stream> export)
    {
        using var exported = new MemoryStream();
        export(exported);
        using var bytes = new MemoryStream(exported.ToArray());
        IEstimator<ITransformer> scoring = context.ScoringTransforms.ApplyOnnxModel(names.Outputs.Select(o => o.Tensor).ToArray(), [names.Input], bytes,
            gpuDeviceId: null, fallbackToCpu: true);
        var renamed = names.Outputs.Where(o => o.Tensor != o.Column).ToArray();
        foreach (var (column, tensor) in renamed)
            scoring = scoring.Append(context.Transforms.CopyColumns(column, tensor));
        if (renamed.Length > 0)
            scoring = scoring.Append(context.Transforms.DropColumns(renamed.Select(o => o.Tensor).ToArray()));
        // ApplyOnnxModel's estimator builds its transformer at once; Fit only checks the input schema, so no rows are needed.
        return scoring.Fit(EmptyInput(context, names.Input, inputType));
    }

    private static IDataView EmptyInput(ComponentContext context, string name, VectorDataViewType type)
    {
        var definition = SchemaDefinition.Create(typeof(FeatureVector));
        definition[0].ColumnName = name;
        definition[0].ColumnType = type;
        return context.Data.LoadFromEnumerable(Array.Empty<FeatureVector>(), definition);
    }

    private sealed class FeatureVector
    {
        public float[] Features { get; set; } = [];
    }
}
