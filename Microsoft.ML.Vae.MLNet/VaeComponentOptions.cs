namespace Microsoft.ML.Vae.MLNet;

/// <summary>Settings shared by <see cref="VaeEmbeddingEstimator"/> and <see cref="IwaeAnomalyDetectionTrainer"/>.</summary>
public abstract class VaeComponentOptions
{
    /// <summary>
    /// Seed of training (and, for VaeEmbed, of the log-likelihood noise; Iwae's is Detector.ScoringSeed). Default null:
    /// drawn from the MLContext's random, so
    /// <c>new MLContext(seed: n)</c> makes the whole pipeline reproducible, as with ML.NET's own trainers.
    /// </summary>
    public int? Seed { get; set; }

    /// <summary>Rows read from the input IDataView between cancellation checks in Fit. Default 256.</summary>
    public int BatchSize { get; set; } = 256;

    /// <summary>
    /// Stops Fit between minibatches with <see cref="OperationCanceledException"/>. (ML.NET's own cancellation,
    /// MLContext.CancelExecution, is internal to ML.NET, so components outside it cannot observe it.)
    /// </summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>
    /// The network for tabular data: <see cref="VaeModelOptions"/>'s defaults (encoder and decoder 200-200 tanh, latent
    /// size 50) with a Gaussian decoder that learns one variance per feature, which models any real values: the output
    /// of ML.NET's normalisers ([-1, 1] for columns with negative values), rows beyond the training range, raw measurements.
    /// </summary>
    public static VaeModelOptions TabularModel() => new() { Decoder = DecoderKind.Gaussian, LearnDecoderVariance = true };

    internal virtual void Validate()
    {
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be at least 1.");
    }
}
