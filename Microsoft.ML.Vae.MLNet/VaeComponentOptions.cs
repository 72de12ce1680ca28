namespace Microsoft.ML.Vae.MLNet;

/// <summary>Settings shared by <see cref="VaeEmbeddingEstimator"/> and <see cref="IwaeAnomalyDetectionTrainer"/>.</summary>
public abstract class VaeComponentOptions
{
    /// <summary>
    /// The network. Default: <see cref="VaeModelOptions"/>'s defaults (encoder and decoder 200-200 tanh, latent size 50,
    /// Bernoulli decoder, which needs features in [0, 1]: use <see cref="DecoderKind.Gaussian"/> for other data).
    /// </summary>
    public VaeModelOptions Model { get; set; } = new();

    /// <summary>
    /// Training. Default: <see cref="VaeTrainerOptions"/>'s defaults (K = 5 samples, 20 epochs, minibatches of 100,
    /// Adam at 1e-3). Its <see cref="VaeTrainerOptions.Seed"/> is not used: see <see cref="Seed"/>.
    /// </summary>
    public VaeTrainerOptions Trainer { get; set; } = new();

    /// <summary>
    /// Seed of training and of the log-likelihood samples. Default null: drawn from the MLContext's random, so
    /// <c>new MLContext(seed: n)</c> makes the whole pipeline reproducible, as with ML.NET's own trainers.
    /// </summary>
    public int? Seed { get; set; }

    /// <summary>
    /// K of the importance-weighted estimate of log p(x) computed when transforming. Default 5000 (the core's default);
    /// its cost grows linearly with K.
    /// </summary>
    public int LogLikelihoodSampleCount { get; set; } = 5000;

    /// <summary>Rows read from the input and handed to the model at once, in Fit and Transform. Default 256.</summary>
    public int BatchSize { get; set; } = 256;

    /// <summary>
    /// Stops Fit between minibatches with <see cref="OperationCanceledException"/>. (ML.NET's own cancellation,
    /// MLContext.CancelExecution, is internal to ML.NET, so components outside it cannot observe it.)
    /// </summary>
    public CancellationToken CancellationToken { get; set; }

    internal virtual void Validate()
    {
        ArgumentNullException.ThrowIfNull(Model, nameof(Model));
        ArgumentNullException.ThrowIfNull(Trainer, nameof(Trainer));
        if (LogLikelihoodSampleCount < 1)
            throw new ArgumentOutOfRangeException(nameof(LogLikelihoodSampleCount), LogLikelihoodSampleCount, "LogLikelihoodSampleCount (K) must be at least 1.");
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be at least 1.");
    }
}
