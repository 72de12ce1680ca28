using Microsoft.ML.Data;
using Microsoft.ML.Vae.MLNet.Infrastructure;

namespace Microsoft.ML.Vae.MLNet;

/// <summary>
/// What the VAE transformers share: the trained core object (reachable for its history, options and diagnostics) and
/// <see cref="Scorer"/>, the ML.NET transformer that computes the added columns from the core object's ONNX export.
/// Transform, prediction engines and <c>mlContext.Model.Save</c> all go through <see cref="Scorer"/>, so a saved
/// pipeline holds ML.NET's own OnnxTransformer and <c>mlContext.Model.Load</c> restores it without this library.
/// </summary>
public abstract class VaeTransformerBase : ITransformer, IDisposable
{
    private protected VaeTransformerBase(ITransformer scorer, string inputColumnName, int inputSize)
    {
        Scorer = scorer;
        InputColumnName = inputColumnName;
        InputSize = inputSize;
    }

    /// <summary>
    /// ML.NET's transformer that scores the exported ONNX graph (an OnnxTransformer, followed by CopyColumns and
    /// DropColumns when an output column takes the input column's name). It is what <c>mlContext.Model.Save</c> writes.
    /// </summary>
    public ITransformer Scorer { get; }

    /// <summary>The column of features, a vector of <see cref="InputSize"/> floats.</summary>
    public string InputColumnName { get; }

    /// <summary>Features per row the model was trained on.</summary>
    public int InputSize { get; }

    /// <summary>True: <c>mlContext.Model.CreatePredictionEngine</c> works on this transformer.</summary>
    public bool IsRowToRowMapper => Scorer.IsRowToRowMapper;

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        FeatureColumn.Check(inputSchema, InputColumnName, InputSize);
        return Scorer.GetOutputSchema(inputSchema);
    }

    /// <summary>Lazy, as every ML.NET transform: rows are scored, one at a time, as a cursor reads them.</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        FeatureColumn.Check(input.Schema, InputColumnName, InputSize);
        return Scorer.Transform(input);
    }

    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        FeatureColumn.Check(inputSchema, InputColumnName, InputSize);
        return Scorer.GetRowToRowMapper(inputSchema);
    }

    /// <summary>Writes <see cref="Scorer"/> (ML.NET's own transformers) in its place.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => Scorer.Save(ctx);

    /// <summary>
    /// Disposes the core object and the scorer. Note that disposing a prediction engine disposes the transformer it was
    /// made from (ML.NET's rule); create it with <c>new PredictionEngineOptions { OwnsTransformer = false }</c> to keep using the transformer.
    /// </summary>
    public void Dispose()
    {
        DisposeTrained();
        (Scorer as IDisposable)?.Dispose();
    }

    private protected abstract void DisposeTrained();
}
