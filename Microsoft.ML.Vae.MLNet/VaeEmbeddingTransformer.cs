using Microsoft.ML.Data;
using Microsoft.ML.Vae.MLNet.Infrastructure;
using Microsoft.ML.Vae.Onnx;

namespace Microsoft.ML.Vae.MLNet;

/// <summary>
/// Applies a trained VAE: adds the embedding column (posterior mean, <see cref="VaeModel.LatentSize"/> floats) and the
/// log-likelihood column (IWAE estimate of log p(x) in nats with <see cref="LogLikelihoodSampleCount"/> samples, the
/// same noise for every row, so a row's value depends only on the row). Scores through ML.NET's OnnxTransformer over
/// <see cref="Model"/>'s ONNX export; save the pipeline with <c>context.Model.Save</c>.
/// </summary>
public sealed class VaeEmbeddingTransformer : VaeTransformerBase
{
    internal VaeEmbeddingTransformer(ComponentContext context, VaeModel model, string inputColumnName, string embeddingColumnName,
        string logLikelihoodColumnName, int seed, int logLikelihoodSampleCount)
        : base(CreateScorer(context, model, inputColumnName, embeddingColumnName, logLikelihoodColumnName, seed, logLikelihoodSampleCount),
            inputColumnName, model.InputSize)
    {
        Model = model;
        EmbeddingColumnName = embeddingColumnName;
        LogLikelihoodColumnName = logLikelihoodColumnName;
        Seed = seed;
        LogLikelihoodSampleCount = logLikelihoodSampleCount;
    }

    /// <summary>The trained model: its options, training history, diagnostics (owned by this transformer: disposed with it).</summary>
    public VaeModel Model { get; }

    /// <summary>Name of the added embedding column.</summary>
    public string EmbeddingColumnName { get; }

    /// <summary>Name of the added log-likelihood column.</summary>
    public string LogLikelihoodColumnName { get; }

    /// <summary>Seed of training and of the log-likelihood noise (a constant of the exported graph).</summary>
    public int Seed { get; }

    /// <summary>K of the log-likelihood estimate.</summary>
    public int LogLikelihoodSampleCount { get; }

    private protected override void DisposeTrained() => Model.Dispose();

    private static ITransformer CreateScorer(ComponentContext context, VaeModel model, string inputColumnName, string embeddingColumnName,
        string logLikelihoodColumnName, int seed, int logLikelihoodSampleCount)
    {
        var names = new OnnxColumnNames(inputColumnName);
        var options = new OnnxExportOptions
        {
            LogLikelihoodSampleCount = logLikelihoodSampleCount,
            Seed = seed,
            SingleRow = true,
            InputName = inputColumnName,
            EmbeddingName = names.Output(embeddingColumnName),
            LogLikelihoodName = names.Output(logLikelihoodColumnName),
            Outputs = OnnxOutputs.Embedding | OnnxOutputs.LogLikelihood,
        };
        return OnnxScorer.Create(context, names, new VectorDataViewType(NumberDataViewType.Single, model.InputSize),
            stream => model.ExportOnnx(stream, options));
    }
}
