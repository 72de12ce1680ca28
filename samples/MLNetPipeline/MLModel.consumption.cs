using Microsoft.ML;

namespace MLNetPipeline;

/// <summary>Uses the saved model with ML.NET alone: nothing here calls Microsoft.ML.Vae.</summary>
public static partial class MLModel
{
    /// <summary>The model file; set before the first Predict.</summary>
    public static string ModelPath { get; set; } = Path.GetFullPath("model.zip");

    private static readonly Lazy<PredictionEngine<ModelInput, ModelOutput>> PredictEngine = new(CreatePredictEngine, true);

    /// <summary>Scores one reading. (A PredictionEngine is not thread-safe: use one per thread.)</summary>
    public static ModelOutput Predict(ModelInput input) => PredictEngine.Value.Predict(input);

    private static PredictionEngine<ModelInput, ModelOutput> CreatePredictEngine()
    {
        var mlContext = new MLContext();
        var model = mlContext.Model.Load(ModelPath, out _);
        return mlContext.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model);
    }
}
