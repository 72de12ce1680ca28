using Microsoft.ML;
using Microsoft.ML.Runtime;
using Microsoft.ML.Vae;
using Microsoft.ML.Vae.Datasets;
using Microsoft.ML.Vae.MLNet;

namespace MLNetPipeline;

public static partial class MLModel
{
    public const int LatentSize = 10;

    /// <summary>
    /// Trains the pipeline and saves it in two files: ML.NET's part (Concatenate, NormalizeMinMax) with
    /// mlContext.Model.Save, the VAE with its own Save (ML.NET's model zip cannot hold components built outside ML.NET).
    /// </summary>
    public static void Train(string modelFolder, IEnumerable<ModelInput> trainingRows)
    {
        var mlContext = new MLContext(seed: 0);
        mlContext.Log += (_, e) =>
        {
            if (e.Kind == ChannelMessageKind.Info && e.Source.StartsWith(nameof(VaeEmbeddingEstimator)))
                Console.WriteLine(e.RawMessage);
        };
        var data = mlContext.Data.LoadFromEnumerable(trainingRows);

        var preparation = BuildPreparation(mlContext).Fit(data);
        var vae = BuildVae(mlContext).Fit(preparation.Transform(data));

        Directory.CreateDirectory(modelFolder);
        mlContext.Model.Save(preparation, data.Schema, Path.Combine(modelFolder, PreparationFile));
        vae.Save(Path.Combine(modelFolder, VaeFile));
    }

    /// <summary>The whole pipeline, as one estimator (for GetOutputSchema, cross-validation, or Fit without saving).</summary>
    public static IEstimator<ITransformer> BuildPipeline(MLContext mlContext) => BuildPreparation(mlContext).Append(BuildVae(mlContext));

    /// <summary>Features: the pixels as one vector of float, scaled to [0, 1] (the Bernoulli decoder's range).</summary>
    public static IEstimator<ITransformer> BuildPreparation(MLContext mlContext) =>
        mlContext.Transforms.Concatenate("Features", "Pixels")
            .Append(mlContext.Transforms.NormalizeMinMax("Features"));

    public static VaeEmbeddingEstimator BuildVae(MLContext mlContext) =>
        mlContext.Transforms.VaeEmbed(outputColumnName: "Embedding", inputColumnName: "Features", new VaeEmbeddingEstimator.Options
        {
            Model = new VaeModelOptions { HiddenSizes = [200, 200], LatentSize = LatentSize },
            Trainer = new VaeTrainerOptions { Epochs = 5, SampleCount = 5 },
            LogLikelihoodSampleCount = 500,
        });

    /// <summary>Fashion-MNIST rows (the system copy, else the subset bundled in this repository).</summary>
    public static IEnumerable<ModelInput> Rows(LabeledImages images) =>
        Enumerable.Range(0, images.Images.Rows).Select(i => new ModelInput { Pixels = images.Images.Row(i).ToArray(), Label = images.Labels[i] });
}
