// Consumption: load the saved model once and embed single images, like ML.NET Model Builder's generated
// <Model>.consumption.cs.
using Microsoft.ML.Vae;

namespace FashionMnistEmbeddings;

public partial class FashionMnistEmbeddingsModel
{
    /// <summary>One image: 784 grey values in [0, 1], row by row (28 × 28).</summary>
    public class ModelInput
    {
        public float[] Pixels { get; set; } = [];
    }

    /// <summary>The image's embedding (posterior mean) and the IWAE estimate of its log-likelihood.</summary>
    public class ModelOutput
    {
        public float[] Embedding { get; set; } = [];

        public float LogLikelihood { get; set; }
    }

    /// <summary>Where <see cref="Train"/> saves the model and <see cref="Predict"/> loads it from.</summary>
    public static string ModelPath { get; set; } = Path.GetFullPath(Path.Combine("out", "FashionMnistEmbeddings", "FashionMnistEmbeddings.vae"));

    private static readonly Lazy<VaeModel> Model = new(() => VaeModel.Load(ModelPath), isThreadSafe: true);

    /// <summary>Embeds one image with the saved model.</summary>
    public static ModelOutput Predict(ModelInput input)
    {
        var row = new FeatureMatrix((float[])input.Pixels.Clone(), 1, input.Pixels.Length);
        return new ModelOutput { Embedding = Model.Value.Embed(row).Values, LogLikelihood = Model.Value.LogLikelihood(row, sampleCount: 100)[0] };
    }
}
