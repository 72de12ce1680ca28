using Microsoft.ML;

namespace MLNetPipeline;

public static partial class MLModel
{
    /// <summary>Trains the pipeline on (mostly normal) readings and saves it with mlContext.Model.Save.</summary>
    public static void Train(string modelPath, IEnumerable<ModelInput> trainingRows)
    {
        var mlContext = new MLContext(seed: 0);
        var data = mlContext.Data.LoadFromEnumerable(trainingRows);
        var model = BuildPipeline(mlContext).Fit(data);
        mlContext.Model.Save(model, data.Schema, modelPath);
    }

    /// <summary>Sensors into one vector, scaled by ML.NET's normaliser, then the IWAE anomaly detector with its tabular defaults.</summary>
    public static IEstimator<ITransformer> BuildPipeline(MLContext mlContext) =>
        mlContext.Transforms.Concatenate("Features", "Sensors")
            .Append(mlContext.Transforms.NormalizeMinMax("Features"))
            .Append(mlContext.AnomalyDetection.Trainers.Iwae(featureColumnName: "Features", latentSize: 2, epochs: 10));
}
