using Microsoft.ML.Data;

namespace MLNetPipeline;

/// <summary>What the model adds to an image: its position in the latent space, and how likely the model finds it.</summary>
public sealed class ModelOutput
{
    /// <summary>Posterior mean of the VAE, <see cref="MLModel.LatentSize"/> values.</summary>
    [ColumnName("Embedding")]
    public float[] Embedding { get; set; } = [];

    /// <summary>IWAE estimate of log p(x) in nats; low values mark images unlike the training data.</summary>
    [ColumnName("LogLikelihood")]
    public float LogLikelihood { get; set; }
}
