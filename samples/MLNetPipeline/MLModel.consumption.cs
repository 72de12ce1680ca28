using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Vae.MLNet;

namespace MLNetPipeline;

public static partial class MLModel
{
    public const string PreparationFile = "MLModel.preparation.zip";
    public const string VaeFile = "MLModel.vae.bin";

    /// <summary>Folder the model files are read from; set before the first Predict.</summary>
    public static string ModelFolder { get; set; } = Path.GetFullPath("model");

    private static readonly Lazy<PredictionEngine<ModelInput, ModelOutput>> PredictEngine = new(() => CreatePredictEngine(ModelFolder), true);

    /// <summary>Embeds one image. (A PredictionEngine is not thread-safe: use one per thread, or a PredictionEnginePool.)</summary>
    public static ModelOutput Predict(ModelInput input) => PredictEngine.Value.Predict(input);

    /// <summary>Loads both saved parts and chains them back into the trained pipeline.</summary>
    public static ITransformer Load(MLContext mlContext, string modelFolder)
    {
        var preparation = mlContext.Model.Load(Path.Combine(modelFolder, PreparationFile), out _);
        var vae = VaeEmbeddingTransformer.Load(Path.Combine(modelFolder, VaeFile));
        return new TransformerChain<ITransformer>(preparation, vae);
    }

    private static PredictionEngine<ModelInput, ModelOutput> CreatePredictEngine(string modelFolder)
    {
        var mlContext = new MLContext();
        return mlContext.Model.CreatePredictionEngine<ModelInput, ModelOutput>(Load(mlContext, modelFolder));
    }
}
