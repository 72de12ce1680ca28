using Microsoft.ML.Vae.MLNet;
using Microsoft.ML.Vae.MLNet.Infrastructure;

namespace Microsoft.ML;

/// <summary>VAE/IWAE components on ML.NET's catalogs (<c>mlContext.Transforms</c>, <c>mlContext.AnomalyDetection.Trainers</c>).</summary>
public static class VaeCatalog
{
    /// <summary>
    /// Trains a VAE/IWAE on <paramref name="inputColumnName"/> and adds the embedding (posterior mean, a vector of
    /// <paramref name="latentSize"/> floats) as <paramref name="outputColumnName"/> and the IWAE estimate of log p(x)
    /// as <paramref name="logLikelihoodColumnName"/>. Other settings take <see cref="VaeEmbeddingEstimator.Options"/>'s defaults.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Name of the embedding column.</param>
    /// <param name="inputColumnName">A known-size vector of float; null means <paramref name="outputColumnName"/>.</param>
    /// <param name="latentSize">Embedding size. Default 50.</param>
    /// <param name="epochs">Training epochs. Default 20.</param>
    /// <param name="sampleCount">Importance samples per row in training (K; 1 trains a plain VAE). Default 5.</param>
    /// <param name="logLikelihoodColumnName">Name of the log-likelihood column. Default "LogLikelihood".</param>
    public static VaeEmbeddingEstimator VaeEmbed(this TransformsCatalog catalog, string outputColumnName, string? inputColumnName = null,
        int latentSize = 50, int epochs = 20, int sampleCount = 5, string logLikelihoodColumnName = VaeEmbeddingEstimator.DefaultLogLikelihoodColumnName)
        => new(new ComponentContext(catalog), outputColumnName, inputColumnName, new VaeEmbeddingEstimator.Options
        {
            Model = { LatentSize = latentSize },
            Trainer = { Epochs = epochs, SampleCount = sampleCount },
            LogLikelihoodColumnName = logLikelihoodColumnName,
        });

    /// <summary>
    /// Trains a VAE/IWAE on <paramref name="inputColumnName"/> and adds its embedding as <paramref name="outputColumnName"/>
    /// and log p(x) as <see cref="VaeEmbeddingEstimator.Options.LogLikelihoodColumnName"/>.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Name of the embedding column.</param>
    /// <param name="inputColumnName">A known-size vector of float; null means <paramref name="outputColumnName"/>.</param>
    /// <param name="options">Network, training and scoring settings.</param>
    public static VaeEmbeddingEstimator VaeEmbed(this TransformsCatalog catalog, string outputColumnName, string? inputColumnName,
        VaeEmbeddingEstimator.Options options)
        => new(new ComponentContext(catalog), outputColumnName, inputColumnName, options);

    /// <summary>
    /// Anomaly detection with an IWAE: Score = -log p(x) of the standardised features (higher = more anomalous) and
    /// PredictedLabel = Score above a threshold that flags <paramref name="falsePositiveRate"/> of held-out training
    /// rows. Other settings take <see cref="IwaeAnomalyDetectionTrainer.Options.TabularDetector"/>'s defaults.
    /// </summary>
    /// <param name="catalog">The anomaly detection trainers catalog.</param>
    /// <param name="featureColumnName">A known-size vector of float. Default "Features".</param>
    /// <param name="latentSize">Latent size. Default 16.</param>
    /// <param name="epochs">
    /// Training epochs; 0 (default) chooses them from the row count for about 2,000 optimiser steps (10 to 200 epochs),
    /// which docs/tabular-anomaly.md measured best.
    /// </param>
    /// <param name="sampleCount">Importance samples per row in training (K). Default 5.</param>
    /// <param name="falsePositiveRate">Target false-positive rate of PredictedLabel, in (0, 1). Default 0.05.</param>
    public static IwaeAnomalyDetectionTrainer Iwae(this AnomalyDetectionCatalog.AnomalyDetectionTrainers catalog,
        string featureColumnName = IwaeAnomalyDetectionTrainer.DefaultFeatureColumnName, int latentSize = 16, int epochs = 0, int sampleCount = 5,
        double falsePositiveRate = 0.05)
        => new(new ComponentContext(catalog), IwaeAnomalyDetectionTrainer.Options.Simple(featureColumnName, latentSize, epochs, sampleCount, falsePositiveRate));

    /// <summary>Anomaly detection with an IWAE (see the other overload), with every setting in <paramref name="options"/>.</summary>
    /// <param name="catalog">The anomaly detection trainers catalog.</param>
    /// <param name="options">The feature column and the detector's settings (score kind, scaling, ensemble, calibration).</param>
    public static IwaeAnomalyDetectionTrainer Iwae(this AnomalyDetectionCatalog.AnomalyDetectionTrainers catalog, IwaeAnomalyDetectionTrainer.Options options)
        => new(new ComponentContext(catalog), options);
}
